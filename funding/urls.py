from django.urls import path

from . import views

app_name = "funding"

urlpatterns = [
    path("funding/", views.FundingExplorerView.as_view(), name="explorer"),
    path("funding-figures/", views.FundingMethodView.as_view(), name="method"),
    path("funding/export.csv", views.FundingExportView.as_view(), name="export-csv"),
    path("funding/totals.csv", views.FundingTotalsExportView.as_view(), name="totals-csv"),
    path("funding/iati-activities.xml", views.FundingIatiExportView.as_view(), name="export-iati"),
    path("funding/<slug:slug>/", views.FundingRecordDetailView.as_view(), name="record-detail"),
    path("instruments/", views.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<slug:slug>/", views.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("donors/", views.DonorListView.as_view(), name="donor-list"),
    path("donors/<slug:donor>/", views.DonorDetailView.as_view(), name="donor-detail"),
    path("conferences/", views.PledgingConferenceListView.as_view(), name="conference-list"),
    path("conferences/<slug:slug>/", views.PledgingConferenceDetailView.as_view(), name="conference-detail"),
]
