"""Writing the audit log: one call per action a person takes."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from console.models import AuditLog
from console.numbers import mask_text


def client_address(request) -> str | None:
    """The client's address as django-axes determined it (proxy-aware), else REMOTE_ADDR."""
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR")


def record(
    action: str,
    target: models.Model | None = None,
    *,
    user=None,
    request=None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row. ``user`` defaults to the request's user; numbers go in masked (any
    number left in ``details``, an error text quoting one, is masked here)."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if details:
        details = json.loads(mask_text(json.dumps(details, ensure_ascii=False, default=str)))
    return AuditLog.objects.create(
        action=action,
        user=user,
        username=getattr(user, "username", "") or "",
        ip_address=client_address(request),
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        details=details or {},
    )
