"""The dashboard's hourly totals, kept up to date from the CDRs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from billing.choices import CallOutcome
from billing.models import (
    CallRecord,
    CallStat,
    CallStatCursor,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Hourly totals for the dashboard
# ---------------------------------------------------------------------------------------------


def refresh_call_stats(
    now: datetime | None = None, settle: timedelta = timedelta(minutes=1)
) -> int:
    """Beat job: rebuild the hourly totals of every hour that received CDRs since the last run.

    The cursor only moves past records received more than ``settle`` ago, so a transaction that
    committed late is picked up by the next run; rebuilding an hour again is harmless. Returns the
    number of (application, hour) pairs rebuilt.
    """
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _ = CallStatCursor.objects.select_for_update().get_or_create(pk=1)
        fresh = CallRecord.objects.filter(id__gt=cursor.last_record_id)
        touched = sorted(
            fresh.annotate(hour=Trunc("started_at", "hour", tzinfo=UTC))
            .values_list("application_id", "hour")
            .order_by()
            .distinct()
        )
        settled = fresh.filter(received_at__lt=now - settle).aggregate(last=Max("id"))["last"]
        for application_id, first, last in _hour_ranges(touched):
            _rebuild_hours(application_id, first, last + timedelta(hours=1))
        if settled:
            cursor.last_record_id = settled
            cursor.save(update_fields=["last_record_id", "updated_at"])
    return len(touched)


def _hour_ranges(touched: list[tuple[int, datetime]]) -> Iterable[tuple[int, datetime, datetime]]:
    """Runs of consecutive hours per application, so a backlog is one query per run."""
    run: list[Any] | None = None
    for application_id, hour in touched:
        if run and run[0] == application_id and hour - run[2] <= timedelta(hours=6):
            run[2] = hour
            continue
        if run:
            yield tuple(run)  # type: ignore[misc]
        run = [application_id, hour, hour]
    if run:
        yield tuple(run)  # type: ignore[misc]


def _rebuild_hours(application_id: int, start: datetime, end: datetime) -> None:
    CallStat.objects.filter(application_id=application_id, hour__gte=start, hour__lt=end).delete()
    totals = (
        CallRecord.objects.filter(
            application_id=application_id,
            started_at__gte=start,
            started_at__lt=end,
            redial_duplicate=False,
        )
        .annotate(
            hour=Trunc("started_at", "hour", tzinfo=UTC),
            point=Coalesce("ul_fail_reason", -1),
        )
        .values("hour", "direction", "outcome", "point")
        .annotate(calls=Count("id"), minutes=Coalesce(Sum("billable_minutes"), 0))
        .order_by()
    )
    CallStat.objects.bulk_create(
        CallStat(
            application_id=application_id,
            hour=row["hour"],
            direction=row["direction"],
            outcome=row["outcome"],
            release_point=row["point"] if row["outcome"] != CallOutcome.ANSWERED else 0,
            calls=row["calls"],
            minutes=row["minutes"],
        )
        for row in _merge_answered(totals)
    )


def _merge_answered(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answered calls are one row per hour and direction whatever their release point says."""
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        point = 0 if row["outcome"] == CallOutcome.ANSWERED else row["point"]
        key = (row["hour"], row["direction"], row["outcome"], point)
        if key in merged:
            merged[key]["calls"] += row["calls"]
            merged[key]["minutes"] += row["minutes"]
        else:
            merged[key] = {**row, "point": point}
    return list(merged.values())
