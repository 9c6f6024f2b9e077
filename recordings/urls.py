"""URLs of recordings outside the admin (included under /recordings/)."""

from __future__ import annotations

from django.urls import path

from recordings import views

app_name = "recordings"

urlpatterns = [
    path("<int:pk>/audio", views.audio, name="audio"),
    path("<int:pk>/download", views.download, name="download"),
    path("at-risk/", views.AtRiskView.as_view(), name="at_risk"),
]
