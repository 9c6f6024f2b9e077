"""``/hooks/<endpoint>``: the URLs to configure on the platform (``Application.receiver_urls``)."""

from __future__ import annotations

from django.urls import path

from console import hooks
from console.choices import HookEndpoint

app_name = "hooks"

urlpatterns = [
    path(name, hooks.receive, {"endpoint": name}, name=name) for name in HookEndpoint.values
]
