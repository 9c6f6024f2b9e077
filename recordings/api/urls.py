"""``/api/v1/recordings/`` (included by the shell under the ``api`` namespace)."""

from __future__ import annotations

from django.urls import path

from recordings.api import views

urlpatterns = [
    path("recordings/", views.RecordingListView.as_view(), name="recording-list"),
    path("recordings/<int:pk>/", views.RecordingDetailView.as_view(), name="recording-detail"),
    path(
        "recordings/<int:pk>/audio/",
        views.RecordingAudioView.as_view(),
        name="recording-audio",
    ),
]
