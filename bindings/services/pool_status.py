"""The pool's side of the platform: X-number status pushes, retiring numbers, the platform's count.

* :func:`apply_x_number_status` applies the platform's X-number status pushes (spec §6.3);
* :func:`retire_numbers` / :func:`reinstate_numbers` take numbers out of the pool and back;
* :func:`count_axe_bindings` asks the platform how many bindings each shared X carries (AXE:
  QueryAXEBindingCount) for the pool usage page.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from bindings import events, modes
from bindings.choices import NumberState, PlatformNumberStatus
from bindings.models import XNumber, XStatusChange
from bindings.services.gateway import client_for
from console import alerts, audit
from console.choices import AlertKind, AuditAction
from console.models import Application
from privatenumber.schemas import AXE_COUNT_FIRST_CURSOR, NumStatusPush

logger = logging.getLogger(__name__)


def apply_x_number_status(application: Application, push: NumStatusPush) -> int:
    """Apply an X-number status push (spec §6.3) to the pool; returns how many numbers changed.

    Status 9 (paused) and 10 (unavailable) take a number out of the choice, 11 (binding frozen)
    stops new bindings while existing ones keep working, 5 makes it usable again; the cause is
    kept. Idempotent: the same push applied twice changes nothing the second time.
    """
    now = timezone.now()
    groups: dict[tuple[str, str], list[str]] = {}
    for info in push.num_info:
        groups.setdefault((info.status, info.cause or ""), []).append(info.number)
    changed = 0
    with transaction.atomic():
        for (status, cause), numbers in groups.items():
            changed += (
                XNumber.objects.filter(application=application, number__in=numbers)
                .exclude(platform_status=status, platform_cause=cause)
                .update(
                    platform_status=status,
                    platform_cause=cause,
                    platform_status_at=now,
                    updated_at=now,
                )
            )
        _alert_statuses(application, push)
        if changed:
            changed_now = XNumber.objects.filter(application=application, platform_status_at=now)
            # The history the health guard reads (frozen time, carrier restrictions).
            XStatusChange.objects.bulk_create(
                XStatusChange(x_id=pk, application=application, status=status, cause=cause, at=now)
                for pk, status, cause in changed_now.values_list(
                    "pk", "platform_status", "platform_cause"
                )
            )
            events.announce_number_status(
                application.pk,
                list(
                    changed_now.values("number", "platform_status", "platform_cause", "city_code")
                ),
            )
    mentioned = [info.number for info in push.num_info]
    known = XNumber.objects.filter(application=application, number__in=mentioned).count()
    if known < len(set(mentioned)):
        logger.warning(
            "X-number status push for application %s names %d number(s) not in its pool",
            application.pk,
            len(set(mentioned)) - known,
        )
    return changed


def _alert_statuses(application: Application, push: NumStatusPush) -> None:
    """An X paused, unavailable (deleted, in arrears, suspended, restricted by the carrier) or
    frozen opens an ``x_status`` alert; back to normal, the alert resolves itself."""
    ids = dict(
        XNumber.objects.filter(
            application=application, number__in=[i.number for i in push.num_info]
        ).values_list("number", "pk")
    )
    for info in push.num_info:
        if info.number not in ids:
            continue
        key = f"xnumber:{ids[info.number]}"
        if info.status == PlatformNumberStatus.NORMAL:
            alerts.resolve_alert(AlertKind.X_STATUS, key)
            continue
        alerts.raise_alert(
            AlertKind.X_STATUS,
            key,
            title=gettext_noop("X number %(number)s has platform status %(status)s"),
            detail=gettext_noop(
                "Pushed by the platform with cause %(cause)s (spec §6.3: 2 arrears, 3 suspended, "
                "5 restricted by the carrier). It is not chosen for new bindings meanwhile."
            ),
            params={
                "number": info.number,
                "status": info.status,
                "cause": info.cause or "-",
            },
            application=application,
        )


def retire_numbers(queryset: QuerySet[XNumber], *, user=None, request=None) -> int:
    """Take numbers out of the pool for good (their live bindings keep working)."""
    with transaction.atomic():
        numbers = list(queryset.exclude(state=NumberState.RETIRED))
        changed = XNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            state=NumberState.RETIRED, updated_at=timezone.now()
        )
        for number in numbers:
            audit.record(
                AuditAction.MODIFY, number, user=user, request=request, details={"state": "retired"}
            )
    return changed


def reinstate_numbers(queryset: QuerySet[XNumber], *, user=None, request=None) -> int:
    """Put retired numbers back into the pool."""
    now = timezone.now()
    with transaction.atomic():
        numbers = list(queryset.filter(state=NumberState.RETIRED))
        ids = [n.pk for n in numbers]
        XNumber.objects.filter(pk__in=ids, binding_count=0, y_binding_count=0).update(
            state=NumberState.AVAILABLE, cooling_until=None, updated_at=now
        )
        XNumber.objects.filter(pk__in=ids, state=NumberState.RETIRED).update(
            state=NumberState.IN_USE, updated_at=now
        )
        for number in numbers:
            audit.record(
                AuditAction.MODIFY,
                number,
                user=user,
                request=request,
                details={"state": "reinstated"},
            )
    return len(ids)


def count_axe_bindings(application: Application) -> int:
    """Ask the platform how many AXE bindings each X of ``application`` carries, page by page
    (QueryAXEBindingCount), and keep it on the numbers for the pool usage page.

    Returns how many of the application's numbers were counted.
    """
    now = timezone.now()
    counted = 0
    interface = modes.of(application.mode).interface("binding_count")
    with client_for(application) as client:
        cursor: str | None = AXE_COUNT_FIRST_CURSOR
        while cursor:
            page = client.call(interface, cursor=cursor, limit=100)
            counts = {item.number: item.bind_count for item in page.number_list}
            numbers = list(XNumber.objects.filter(application=application, number__in=counts))
            for number in numbers:
                number.platform_binding_count = counts[number.number]
                number.platform_counted_at = now
            XNumber.objects.bulk_update(
                numbers, ["platform_binding_count", "platform_counted_at"], batch_size=100
            )
            counted += len(numbers)
            cursor = page.next_cursor if page.number_list else None
    return counted
