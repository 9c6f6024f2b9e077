"""Writing the audit log: one call per action a person takes."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from console import sql
from console.models import Application, AuditLog
from console.numbers import mask_text


def client_address(request) -> str | None:
    """The client's address as django-axes determined it (proxy-aware), else REMOTE_ADDR."""
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR")


def _application_of(target: models.Model) -> int | None:
    """The application an object belongs to (itself, for an Application), for team scoping."""
    if isinstance(target, Application):
        return target.pk
    return getattr(target, "application_id", None)


def record(
    action: str,
    target: models.Model | type[models.Model] | None = None,
    *,
    user=None,
    request=None,
    details: dict[str, Any] | None = None,
    label: str = "",
) -> AuditLog:
    """Write one audit row. ``user`` defaults to the request's user (an API key's requests are
    written under ``api:<key name>``); numbers go in masked (any number left in ``details``, an
    error text quoting one, is masked here).

    ``target`` is the object acted on, or a model class for an action on many of its rows (an
    export), which ``label`` then describes.
    """
    if user is None and getattr(getattr(request, "user", None), "is_authenticated", False):
        user = request.user
    username = getattr(user, "username", "") or ""
    if not isinstance(user, models.Model):
        user = None  # an API key (console.api.authentication.ApiPrincipal): its name only
    if details:
        details = json.loads(mask_text(json.dumps(details, ensure_ascii=False, default=str)))
    one = target is not None and not isinstance(target, type)
    return sql.insert(  # AuditLog.objects.create(...), as one prepared statement
        AuditLog(
            application_id=_application_of(target) if one else None,
            action=action,
            user=user,
            username=username,
            ip_address=client_address(request),
            target_type=ContentType.objects.get_for_model(target) if target is not None else None,
            target_id=str(target.pk) if one else "",
            target_repr=(str(target) if one else label)[:200],
            details=details or {},
        )
    )
