"""Reconcile an application's bindings with the platform, number by number.

What the platform holds on each number is listed through the mode table (the mode's query, paged
as it pages); bindings active here that the platform no longer has are ended, bindings only the
platform has are reported (masked), never touched. A person's run is created first, audited, and
followed on its page (:func:`reconcile_progress`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bindings import platform, pool
from bindings.choices import BindingStatus
from bindings.models import Binding, Reconciliation, XNumber
from bindings.services import work
from bindings.services.gateway import client_for
from bindings.services.lifecycle import end_lost
from console import audit, jobs
from console.choices import AuditAction
from console.models import Application
from privatenumber.errors import PlatformError

logger = logging.getLogger(__name__)


def start_reconcile(
    application: Application, number_ids: list[int], *, user=None, request=None
) -> Reconciliation:
    """Queue a reconciliation of some of ``application``'s numbers; its page shows the progress."""
    with transaction.atomic():
        run = Reconciliation.objects.create(
            application=application,
            triggered_by=user if getattr(user, "pk", None) else None,
            # The numbers, for the sweeper to run it again if its worker is lost.
            details={"total": len(number_ids), "number_ids": number_ids},
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.SYNC,
            application,
            user=user,
            request=request,
            details={"numbers": len(number_ids), "reconciliation": run.pk},
        )
        work.RECONCILE.send_on_commit(
            application.pk,
            number_ids,
            run_id=run.pk,
            job=Reconciliation.objects.filter(pk=run.pk),
        )
    return run


def reconcile(
    application: Application,
    *,
    numbers: QuerySet[XNumber] | None = None,
    user=None,
    request=None,
    run: Reconciliation | None = None,
) -> Reconciliation:
    """Compare the console's active bindings with the platform's, number by number.

    Bindings active here that the platform no longer has are ended (``end_reason`` lost, or
    expired if their time was up); bindings only the platform has are reported, not touched.
    ``numbers_checked`` is saved as it goes (twice a second at most) against ``details["total"]``,
    for the progress shown on the run's page. A ``run`` already finished is left as it is.
    """
    if run is None:
        run = Reconciliation.objects.create(
            application=application,
            triggered_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
    elif run.finished_at is not None:
        return run
    started = run.started_at
    numbers = numbers if numbers is not None else XNumber.objects.all()
    numbers = numbers.filter(application=application).order_by("pk")
    run.details = {**run.details, "total": numbers.count()}
    Reconciliation.objects.filter(pk=run.pk).update(
        details=run.details, numbers_checked=0, lease_until=jobs.lease()
    )
    last_save = timezone.now()
    lost: list[int] = []
    unknown: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    stats = {"numbers_checked": 0, "platform_bindings": 0, "matched": 0}
    with client_for(application) as client:
        for number in numbers.iterator(chunk_size=500):
            if (timezone.now() - last_save).total_seconds() >= 0.5:
                Reconciliation.objects.filter(pk=run.pk).update(
                    numbers_checked=stats["numbers_checked"], lease_until=jobs.lease()
                )
                last_save = timezone.now()
            stats["numbers_checked"] += 1
            try:
                listed = list(platform.list_on_number(client, application.mode, number.number))
            except PlatformError as error:
                failures.append({"number": number.number, "code": error.code})
                continue
            stats["platform_bindings"] += len(listed)
            listed_ids = {item.subscription_id for item in listed}
            # Ours on this number as X, bound before the run began (later ones may not show yet).
            as_x = Binding.objects.filter(
                x=number, status=BindingStatus.ACTIVE, bound_at__lt=started
            ).values_list("pk", "subscription_id", "yb_subscription_id")
            for pk, sid, yb_sid in as_x:
                if sid in listed_ids or (yb_sid and yb_sid in listed_ids):
                    stats["matched"] += 1
                else:
                    lost.append(pk)
            ours = {
                sid: status
                for sid, yb_sid, status in Binding.objects.filter(application=application)
                .filter(Q(subscription_id__in=listed_ids) | Q(yb_subscription_id__in=listed_ids))
                .values_list("subscription_id", "yb_subscription_id", "status")
                for sid in (sid, yb_sid)
                if sid in listed_ids
            }
            # A bind in flight may have landed before its answer was stored: not unknown.
            in_flight = set(
                Binding.objects.filter(
                    Q(x=number) | Q(y=number), status=BindingStatus.PENDING
                ).values_list("a_number", flat=True)
            )
            for item in listed:
                status = ours.get(item.subscription_id)
                if status in pool.LIVE or item.a_number in in_flight:
                    continue
                entry = item.masked()
                if status:
                    entry["here"] = status  # ours, but ended here: still on the platform
                if len(unknown) < 500:
                    unknown.append(entry)
                else:
                    run.details["truncated"] = True
    now = timezone.now()
    note = _("not found on the platform by reconciliation #%(id)s") % {"id": run.pk}
    ended = end_lost(lost, note, now)
    run.finished_at = timezone.now()
    run.lease_until = None
    run.lost = ended
    run.unknown = len(unknown)
    run.failures = len(failures)
    run.numbers_checked = stats["numbers_checked"]
    run.platform_bindings = stats["platform_bindings"]
    run.matched = stats["matched"]
    run.details = {
        **run.details,
        "unknown": unknown,
        "failures": failures[:500],
        "lost": lost[:500],
    }
    run.save()
    if user is not None:
        audit.record(
            AuditAction.SYNC,
            run,
            user=user,
            request=request,
            details={"lost": ended, "unknown": len(unknown)},
        )
    logger.info(
        "reconciliation %s of application %s: %s checked, %s lost, %s unknown, %s failures",
        run.pk,
        application.pk,
        run.numbers_checked,
        ended,
        len(unknown),
        len(failures),
    )
    return run


def reconcile_progress(run: Reconciliation) -> dict[str, Any]:
    """What a reconciliation's page shows while it runs: numbers checked out of how many."""
    return {
        "id": run.pk,
        "total": run.details.get("total", run.numbers_checked),
        "numbers_checked": run.numbers_checked,
        "platform_bindings": run.platform_bindings,
        "matched": run.matched,
        "lost": run.lost,
        "unknown": run.unknown,
        "failures": run.failures,
        "finished": run.finished_at is not None,
        "status_display": str(_("Finished") if run.finished_at else _("Running")),
    }
