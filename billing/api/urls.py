"""``/api/v1/calls/``, ``/api/v1/sms/``, ``/api/v1/statements/`` (included by the shell under the
``api`` namespace)."""

from __future__ import annotations

from django.urls import path

from billing.api import views

urlpatterns = [
    path("calls/", views.CallListView.as_view(), name="call-list"),
    path("calls/<int:pk>/", views.CallDetailView.as_view(), name="call-detail"),
    path("sms/", views.SmsListView.as_view(), name="sms-list"),
    path("sms/<int:pk>/", views.SmsDetailView.as_view(), name="sms-detail"),
    path("statements/", views.StatementListView.as_view(), name="statement-list"),
    path("statements/<int:pk>/", views.StatementDetailView.as_view(), name="statement-detail"),
]
