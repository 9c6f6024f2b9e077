"""URLs of bindings outside the admin (included under /bindings/)."""

from __future__ import annotations

from django.urls import path

from bindings import views

app_name = "bindings"

urlpatterns = [
    path("bulk/<int:pk>/progress", views.bulk_progress, name="bulk-progress"),
    path("import/<int:pk>/progress", views.import_progress, name="import-progress"),
    path("reconcile/<int:pk>/progress", views.reconcile_progress, name="reconcile-progress"),
]
