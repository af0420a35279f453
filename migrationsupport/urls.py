from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("themes/", views.ThemeListView.as_view(), name="theme-list"),
    path("themes/<slug:slug>/", views.ThemeDetailView.as_view(), name="theme-detail"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("", include("regions.urls")),
    path("", include("funding.urls")),
    path("", include("agreements.urls")),
    path("api/", include("migrationsupport.api_urls")),
    path("admin/", admin.site.urls),
]
