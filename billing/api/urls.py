"""``/api/v1/calls/`` (included by the shell under the ``api`` namespace)."""

from __future__ import annotations

from django.urls import path

from billing.api import views

urlpatterns = [
    path("calls/", views.CallListView.as_view(), name="call-list"),
    path("calls/<int:pk>/", views.CallDetailView.as_view(), name="call-detail"),
]
