from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("agreements/<slug:slug>/", views.AgreementDetailView.as_view(), name="agreement-detail"),
    path("documents/<slug:slug>/", views.DocumentDetailView.as_view(), name="document-detail"),
]
