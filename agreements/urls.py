from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("agreements/", views.AgreementListView.as_view(), name="agreement-list"),
    path("agreements/timeline/", views.AgreementTimelineView.as_view(), name="agreement-timeline"),
    path("agreements/<slug:slug>/", views.AgreementDetailView.as_view(), name="agreement-detail"),
    path("documents/", views.DocumentListView.as_view(), name="document-list"),
    path("documents/<slug:slug>/", views.DocumentDetailView.as_view(), name="document-detail"),
]
