"""URL configuration of the console: every app's pages under one root."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from console import views as console_views
from shell import views

admin.site.site_header = settings.ADMIN_SITE_TITLE
admin.site.site_title = settings.ADMIN_SITE_TITLE
admin.site.index_title = settings.ADMIN_SITE_TITLE
# The console's own navigation (console_tags.console_nav) is on every page; the admin's sidebar
# took a quarter of the screen from every list.
admin.site.enable_nav_sidebar = False

api_patterns = [
    path("", include("bindings.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("recordings.api.urls")),
]

urlpatterns = [
    path("healthz", console_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("bindings/", include("bindings.urls")),
    # The REST API (docs/api.md): each app's ``api`` package, one namespace.
    path("api/v1/", include((api_patterns, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", views.ApiRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Push receivers (issue #5), calls, statements and dashboard pages of billing.
    path("hooks/", include("console.hooks_urls")),
    path("", include("billing.urls")),
    path("recordings/", include("recordings.urls")),
    path("jobs/stuck/", console_views.StuckJobsView.as_view(), name="stuck_jobs"),
    path("privacy/erasure/", console_views.ErasureView.as_view(), name="erasure"),
    path("privacy/access/", console_views.AccessRequestView.as_view(), name="access_requests"),
    path(
        "privacy/access/<int:job_id>/download/",
        console_views.access_request_download,
        name="access_request_download",
    ),
    path("", views.HomeView.as_view(), name="home"),
]
