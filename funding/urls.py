from django.urls import path

from . import views

app_name = "funding"

urlpatterns = [
    path("instruments/<slug:slug>/", views.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("funding/<slug:slug>/", views.FundingRecordDetailView.as_view(), name="record-detail"),
    path("conferences/<slug:slug>/", views.PledgingConferenceDetailView.as_view(), name="conference-detail"),
]
