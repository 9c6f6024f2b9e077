"""Console pages of billing (see ``billing.views``)."""

from __future__ import annotations

from django.urls import path

from billing import health_views, statement_views, views

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
    path("statements/<int:pk>/", statement_views.StatementView.as_view(), name="statement"),
    path(
        "statements/allocation/",
        statement_views.AllocationView.as_view(),
        name="allocation",
    ),
    path(
        "reconciliation/",
        statement_views.ReconciliationListView.as_view(),
        name="reconciliations",
    ),
    path(
        "reconciliation/<int:pk>/",
        statement_views.ReconciliationView.as_view(),
        name="reconciliation",
    ),
    path(
        "reconciliation/<int:pk>/progress",
        statement_views.ReconciliationProgressView.as_view(),
        name="reconciliation_progress",
    ),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("worst-numbers/", health_views.WorstNumbersView.as_view(), name="worst-numbers"),
]
