"""Console pages of billing (see ``billing.views``)."""

from __future__ import annotations

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("calls/", views.CallRecordListView.as_view(), name="calls"),
    path("calls/live/", views.LiveCallsView.as_view(), name="live_calls"),
    path(
        "calls/<int:application_id>/<path:session_id>/stop",
        views.StopCallView.as_view(),
        name="stop_call",
    ),
    path("calls/<int:application_id>/<path:session_id>/", views.CallView.as_view(), name="call"),
    path("statements/", views.StatementListView.as_view(), name="statements"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
]
