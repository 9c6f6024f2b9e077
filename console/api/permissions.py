"""Scopes: each view names the scope of each HTTP method; the key must hold it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from console.models import ApiKey, Application


class HasScope(permissions.BasePermission):
    """The key holds the scope the view gives for this method (``view.scopes[method]``); a
    view with no scopes is refused (nothing is open by omission)."""

    message = _("This API key does not have the scope this request needs.")

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        scopes = getattr(view, "scopes", {})
        needed = scopes.get(request.method) or scopes.get("*")
        if needed is None:
            return False
        self.message = _("This API key lacks the scope %(scope)s.") % {"scope": needed}
        return key.has_scope(needed)


def applications_of(request):
    """The applications the request's key works for."""
    key = request.auth
    if not isinstance(key, ApiKey):
        return Application.objects.none()
    if hasattr(key, "application_ids"):  # as console.apikeys.key_for keeps it: no subquery
        return Application.objects.filter(pk__in=key.application_ids)
    return key.applications.all()
