"""Hourly settlement: package minutes first, the excess at the tariff (结算时以小时为周期扣费).

Huawei charges call minutes the way its fee centre settles them: by the hour, drawing first on
the minute packages (套餐包) bought, and charging only the excess at the non-package price
(优先扣除已购买套餐包内的额度,超出部分按照非套餐包价格进行计费). The rules, in one place:

* **A call's length** is ``callEndTime − fwdAnswerTime`` rounded up to whole minutes (60 s is one
  minute, 61 s two; recording costs nothing extra): ``CallRecord.billable_minutes``, computed when
  the CDR is stored (``billing.services.billable_minutes``).
* **A call belongs to the hour its callEndTime falls in.** The platform measures a call up to its
  end, produces its CDR when it ends and pushes it then; before its end a call has no length and
  nobody (Huawei included) can charge it. A call from 10:59 to 11:01 is billed, whole, in the hour
  11:00–12:00. (The hours are UTC hours, which are Beijing hours too: the offset is whole hours.)
* **Each hour's minutes draw on the packages valid for that whole hour**, in their order
  (``Package.priority``, lowest first; then the one that expires first, whose minutes would be
  lost first), until the hour's minutes are covered or the packages are empty. What no package
  covers is the excess, charged at the tariff of the month by direction.
* **Within an hour, package minutes go to the calls in the order they ended** (callEndTime, then
  the record key): when a package runs out mid-hour the later calls are the excess. That split is
  what the statement's lines by direction, the cost allocation and the reconciliation per call
  use; the hour's totals do not depend on it.

The beat job (:func:`settle_due_hours`) settles each hour once it is over (plus
``BILLING_SETTLE_AFTER``, which lets the platform's first retries arrive) and stores it
(``SettledHour``, ``PackageDraw``): a month never has to be recomputed per push, a closed month's
consumption is stored, and the same computation (:func:`derive`) recomputes it to check it. A CDR
of an hour already settled (the platform retries a push for five hours) makes the next run settle
that hour again, and every later hour whose package balances it moves, exactly as if it had come
in time; each changed hour counts a revision and keeps its figures from before. Hours of a month
whose statement is closed are never settled again: a CDR for one raises an alert instead.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext_noop

from billing.choices import StatementState
from billing.models import (
    CallRecord,
    Package,
    PackageDraw,
    SettledHour,
    SettlementProgress,
    Statement,
)
from console import alerts
from console.choices import AlertKind
from console.models import Application

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# A CDR received this recently may belong to a transaction that has not committed: the cursor of
# late arrivals stays before it (as the dashboard's rollup does).
COMMIT_LAG = timedelta(minutes=1)
DIRECTIONS = (0, 1, 2)


def floor_hour(moment: datetime) -> datetime:
    """The start of the (UTC) hour ``moment`` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def billed_calls(application_id: int):
    """CDRs with billable minutes of one application (the settlement's index covers them)."""
    return CallRecord.objects.filter(application_id=application_id, billable_minutes__gt=0)


def ended_between(queryset, start: datetime, end: datetime):
    """The calls of ``queryset`` that ended in [start, end).

    Bounded on ``started_at`` too, the CDRs' partition key, so that PostgreSQL reads only the
    months that can hold them (console.partitions): a call starts before it ends, and lasts at
    most ``LONGEST_CALL_HOURS`` (48 by default; a binding's maxDuration caps a call at 24 hours).
    """
    longest = timedelta(hours=settings.LONGEST_CALL_HOURS)
    return queryset.filter(
        call_end_time__gte=start,
        call_end_time__lt=end,
        started_at__gte=start - longest,
        started_at__lt=end,
    )


def calls_in_order(application_id: int, hour: datetime):
    """The billed calls that ended in ``hour``, in the order package minutes go to them."""
    return ended_between(billed_calls(application_id), hour, hour + HOUR).order_by(
        "call_end_time", "cdr_key"
    )


@dataclass
class Line:
    """One direction's share of an hour."""

    calls: int = 0
    minutes: int = 0
    package_minutes: int = 0

    @property
    def excess_minutes(self) -> int:
        return self.minutes - self.package_minutes

    def as_json(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "minutes": self.minutes,
            "package_minutes": self.package_minutes,
            "excess_minutes": self.excess_minutes,
        }


@dataclass
class HourFigures:
    """The settlement of one application's hour: minutes, package minutes, lines, draws."""

    hour: datetime
    lines: dict[int, Line] = field(default_factory=dict)
    draws: dict[int, int] = field(default_factory=dict)  # package id → minutes
    stored: bool = False

    @property
    def calls(self) -> int:
        return sum(line.calls for line in self.lines.values())

    @property
    def minutes(self) -> int:
        return sum(line.minutes for line in self.lines.values())

    @property
    def package_minutes(self) -> int:
        return sum(line.package_minutes for line in self.lines.values())

    @property
    def excess_minutes(self) -> int:
        return self.minutes - self.package_minutes

    def key(self) -> dict[str, Any]:
        """The figures that a revision compares (and keeps in ``SettledHour.before``)."""
        return {
            "calls": self.calls,
            "minutes": self.minutes,
            "package_minutes": self.package_minutes,
            "excess_minutes": self.excess_minutes,
            "lines": {str(d): line.as_json() for d, line in sorted(self.lines.items())},
        }

    @classmethod
    def from_row(cls, row: SettledHour, draws: dict[int, int] | None = None) -> HourFigures:
        lines = {
            int(direction): Line(
                calls=values["calls"],
                minutes=values["minutes"],
                package_minutes=values["package_minutes"],
            )
            for direction, values in (row.lines or {}).items()
        }
        return cls(hour=row.hour, lines=lines, draws=draws or {}, stored=True)


# ---------------------------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------------------------


def _totals_by_hour(application_id: int, start: datetime, end: datetime):
    """{hour: {direction: (calls, minutes)}} of the billed calls that ended in [start, end)."""
    rows = (
        ended_between(billed_calls(application_id), start, end)
        .annotate(ended_hour=Trunc("call_end_time", "hour", tzinfo=UTC))
        .values("ended_hour", "direction")
        .annotate(calls=Count("id"), minutes=Sum("billable_minutes"))
        .order_by()
    )
    totals: dict[datetime, dict[int, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        totals[floor_hour(row["ended_hour"])][row["direction"]] = (row["calls"], row["minutes"])
    return totals


def packages_in(application_id: int, start: datetime, end: datetime) -> list[Package]:
    """The application's packages valid at some time in [start, end), in consumption order."""
    return list(
        Package.objects.filter(
            application_id=application_id, valid_from__lt=end, valid_until__gt=start
        ).order_by("priority", "valid_until", "valid_from", "id")
    )


def drawn_before(packages: Iterable[Package], hour: datetime) -> dict[int, int]:
    """Minutes each package gave to settled hours before ``hour``."""
    ids = [p.pk for p in packages]
    if not ids:
        return {}
    return dict(
        PackageDraw.objects.filter(package_id__in=ids, hour__lt=hour)
        .values("package_id")
        .annotate(total=Sum("minutes"))
        .values_list("package_id", "total")
    )


def valid_in(package: Package, hour: datetime) -> bool:
    """A package is drawn on in the hours that lie wholly inside its validity."""
    return package.valid_from <= hour and hour + HOUR <= package.valid_until


def split_hour(
    application_id: int, hour: datetime, covered: int, key=None
) -> dict[tuple[Any, int], int]:
    """Package minutes of the hour's calls by (key, direction), given to them in the order they
    ended until ``covered`` minutes are given. ``key`` is an expression on CallRecord (the cost
    allocation's dimension) or None (one key)."""
    calls = calls_in_order(application_id, hour)
    if key is not None:
        rows = (
            calls.annotate(allocation_key=key)
            .values_list("allocation_key", "direction", "billable_minutes")
            .iterator(chunk_size=2000)
        )
    else:
        plain = calls.values_list("direction", "billable_minutes").iterator(chunk_size=2000)
        rows = ((None, d, m) for d, m in plain)
    given: dict[tuple[Any, int], int] = defaultdict(int)
    left = covered
    for group, direction, minutes in rows:
        if left <= 0:
            break
        take = min(left, minutes)
        given[(group, direction)] += take
        left -= take
    return given


def split_calls(application_id: int, hour: datetime, covered: int) -> dict[int, int]:
    """Package minutes of each call of the hour (CallRecord id → minutes), in the same order."""
    given: dict[int, int] = {}
    left = covered
    rows = calls_in_order(application_id, hour).values_list("id", "billable_minutes")
    for record_id, minutes in rows.iterator(chunk_size=2000):
        if left <= 0:
            break
        take = min(left, minutes)
        given[record_id] = take
        left -= take
    return given


def derive(application_id: int, start: datetime, end: datetime) -> list[HourFigures]:
    """Settle [start, end) in memory: the hours with billed calls, in order, each drawing on the
    packages valid in it. Balances open at ``start`` with the draws stored before it."""
    start, end = floor_hour(start), floor_hour(end)
    if start >= end:
        return []
    totals = _totals_by_hour(application_id, start, end)
    if not totals:
        return []
    packages = packages_in(application_id, start, end)
    used = drawn_before(packages, start)
    balance = {p.pk: max(p.minutes - used.get(p.pk, 0), 0) for p in packages}
    results = []
    for hour in sorted(totals):
        per_direction = totals[hour]
        need = sum(minutes for _calls, minutes in per_direction.values())
        draws = {}
        for package in packages:
            if need <= 0:
                break
            if balance[package.pk] > 0 and valid_in(package, hour):
                take = min(balance[package.pk], need)
                draws[package.pk] = take
                balance[package.pk] -= take
                need -= take
        covered = sum(draws.values())
        total = covered + need
        lines = {d: Line(calls=c, minutes=m) for d, (c, m) in per_direction.items()}
        if covered >= total:
            for line in lines.values():
                line.package_minutes = line.minutes
        elif covered > 0:  # a package ran out within the hour: the calls that ended first
            for (_key, direction), minutes in split_hour(application_id, hour, covered).items():
                lines[direction].package_minutes = minutes
        results.append(HourFigures(hour=hour, lines=lines, draws=draws))
    return results


def first_billed_hour(application_id: int) -> datetime | None:
    first = billed_calls(application_id).aggregate(first=Min("call_end_time"))["first"]
    return floor_hour(first) if first is not None else None


def settled_until(application_id: int) -> datetime | None:
    progress = SettlementProgress.objects.filter(application_id=application_id).first()
    return progress.settled_until if progress else None


def stored(application_id: int, start: datetime, end: datetime) -> list[HourFigures]:
    """The stored settlement of [start, end) only: what pages read on every view (the
    dashboard), so that they never read the CDRs; hours not settled yet are not in it."""
    rows = SettledHour.objects.filter(
        application_id=application_id, hour__gte=floor_hour(start), hour__lt=floor_hour(end)
    ).order_by("hour")
    return [HourFigures.from_row(row) for row in rows]


def hours(application_id: int, start: datetime, end: datetime) -> list[HourFigures]:
    """The settlement of [start, end): stored for the hours settled, derived for the rest (their
    balances continue from the stored draws), so it is complete whether the beat ran or not."""
    start, end = floor_hour(start), floor_hour(end)
    progress = SettlementProgress.objects.filter(application_id=application_id).first()
    watermark = progress.settled_until if progress else None
    found: list[HourFigures] = []
    if watermark is not None and start < watermark:
        stop = min(end, watermark)
        rows = SettledHour.objects.filter(
            application_id=application_id, hour__gte=start, hour__lt=stop
        ).order_by("hour")
        draws: dict[datetime, dict[int, int]] = defaultdict(dict)
        for hour, package_id, minutes in PackageDraw.objects.filter(
            application_id=application_id, hour__gte=start, hour__lt=stop
        ).values_list("hour", "package_id", "minutes"):
            draws[hour][package_id] = minutes
        found = [HourFigures.from_row(row, draws.get(row.hour)) for row in rows]
    if watermark is None or watermark < end:
        derive_from = watermark if watermark is not None else first_billed_hour(application_id)
        if derive_from is not None and derive_from < end:
            found += [f for f in derive(application_id, derive_from, end) if f.hour >= start]
    return found


# ---------------------------------------------------------------------------------------------
# Storing it
# ---------------------------------------------------------------------------------------------


def frozen_until(application_id: int) -> datetime | None:
    """The end of the last month whose statement is closed: hours before it are never settled
    again (a closed statement is final)."""
    from billing.services import month_bounds

    month = (
        Statement.objects.filter(application_id=application_id, state=StatementState.CLOSED)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return month_bounds(month)[1].astimezone(UTC) if month else None


def settle_application(
    application: Application,
    *,
    until: datetime,
    since: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Settle ``application``'s hours before ``until``, and again from ``since`` (a package was
    changed) or from the first hour that received a CDR late. Idempotent; runs under a lock per
    application, so two runs at once wait for each other. Returns the hours written."""
    now = now or timezone.now()
    until = floor_hour(until)
    with transaction.atomic():
        progress, _ = SettlementProgress.objects.select_for_update().get_or_create(
            application=application
        )
        watermark = progress.settled_until
        fresh = CallRecord.objects.filter(application=application, id__gt=progress.last_record_id)
        cursor = fresh.filter(received_at__lt=now - COMMIT_LAG).aggregate(last=Max("id"))["last"]
        start = watermark if watermark is not None else first_billed_hour(application.pk)
        if start is None:
            start = until
        if watermark is not None:
            late = fresh.filter(billable_minutes__gt=0, call_end_time__lt=watermark).aggregate(
                first=Min("call_end_time")
            )["first"]
            if late is not None:
                start = min(start, floor_hour(late))
        if since is not None:
            start = min(start, floor_hour(since))
        frozen = frozen_until(application.pk)
        if frozen is not None and start < frozen:
            _late_after_close(application, fresh, frozen)
            start = frozen
        end = max(until, watermark) if watermark is not None else until
        written = _write(application, start, end, now) if start < end else 0
        progress.settled_until = max(end, start)
        if cursor:
            progress.last_record_id = cursor
        progress.save()
    return written


def _write(application: Application, start: datetime, end: datetime, now: datetime) -> int:
    """Replace the stored settlement of [start, end) with :func:`derive`'s, counting revisions."""
    figures = derive(application.pk, start, end)
    existing = {
        row.hour: row
        for row in SettledHour.objects.filter(
            application=application, hour__gte=start, hour__lt=end
        )
    }
    PackageDraw.objects.filter(application=application, hour__gte=start, hour__lt=end).delete()
    created, changed = [], []
    for result in figures:
        row = existing.pop(result.hour, None)
        if row is None:
            row = SettledHour(application=application, hour=result.hour, first_settled_at=now)
            created.append(row)
        else:
            old = HourFigures.from_row(row).key()
            if old == result.key():
                continue  # settled again, nothing moved
            row.revisions += 1
            row.before = {**old, "settled_at": row.settled_at.isoformat()}
            row.late_calls = (
                calls_in_order(application.pk, result.hour)
                .filter(received_at__gt=row.first_settled_at)
                .count()
            )
            changed.append(row)
        row.calls = result.calls
        row.minutes = result.minutes
        row.package_minutes = result.package_minutes
        row.excess_minutes = result.excess_minutes
        row.lines = result.key()["lines"]
        row.settled_at = now
    if existing:  # hours that have no billed call any more (their CDRs were removed)
        SettledHour.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    SettledHour.objects.bulk_create(created, batch_size=500)
    SettledHour.objects.bulk_update(
        changed,
        [
            "calls",
            "minutes",
            "package_minutes",
            "excess_minutes",
            "lines",
            "settled_at",
            "revisions",
            "late_calls",
            "before",
        ],
        batch_size=500,
    )
    PackageDraw.objects.bulk_create(
        [
            PackageDraw(package_id=package_id, application=application, hour=result.hour, minutes=m)
            for result in figures
            for package_id, m in result.draws.items()
        ],
        batch_size=1000,
    )
    if changed:
        logger.info(
            "application %s: %d settled hour(s) from %s revised (late call records)",
            application.pk,
            len(changed),
            f"{start:%Y-%m-%d %H}:00",
        )
    return len(created) + len(changed)


def _late_after_close(application: Application, fresh, frozen: datetime) -> None:
    """CDRs of a month whose statement is closed: kept, not settled, and an alert says so."""
    late = fresh.filter(billable_minutes__gt=0, call_end_time__lt=frozen)
    count = late.count()
    if not count:
        return
    from billing.services import month_start

    months = sorted(
        {f"{month_start(moment):%Y-%m}" for moment in late.values_list("call_end_time", flat=True)}
    )
    alerts.raise_alert(
        AlertKind.LATE_AFTER_CLOSE,
        f"application:{application.pk}",
        application=application,
        title=gettext_noop("Call records of %(application)s arrived after their month was closed"),
        detail=gettext_noop(
            "%(count)s call record(s) of %(months)s arrived after the statement was closed. "
            "The closed statement is final and keeps its figures; “Check the selected statements "
            "against their CDRs” shows the difference."
        ),
        params={"application": application.name, "count": count, "months": ", ".join(months)},
    )


def settle_due_hours(now: datetime | None = None) -> dict[int, int]:
    """Beat job: settle every application's hours that are over (and ``BILLING_SETTLE_AFTER``
    past), then check the package balances. Safe to run twice. Returns hours written by app."""
    from billing import packages

    now = now or timezone.now()
    until = floor_hour(now - settings.BILLING_SETTLE_AFTER)
    written = {}
    for application in Application.objects.order_by("pk"):
        written[application.pk] = settle_application(application, until=until, now=now)
        packages.check_balances(application, now=now)
    return written


def resettle(application: Application, since: datetime) -> int:
    """Settle again from ``since`` (a package was added, changed or deleted)."""
    progress = SettlementProgress.objects.filter(application=application).first()
    if progress is None or progress.settled_until is None:
        return 0  # nothing stored yet: the first run settles everything with the new packages
    return settle_application(application, until=progress.settled_until, since=since)


def covered_by_hour(figures: Iterable[HourFigures]) -> dict[datetime, tuple[int, int]]:
    """{hour: (package minutes, minutes)}."""
    return {f.hour: (f.package_minutes, f.minutes) for f in figures}


def hour_ranges(hours_list: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hours merged into [start, end) runs of consecutive hours."""
    ranges: list[list[datetime]] = []
    for hour in sorted(hours_list):
        if ranges and ranges[-1][1] == hour:
            ranges[-1][1] = hour + HOUR
        else:
            ranges.append([hour, hour + HOUR])
    return [(a, b) for a, b in ranges]


def in_ranges(field_name: str, ranges: list[tuple[datetime, datetime]]) -> Q:
    """A filter: ``field_name`` within one of ``ranges``."""
    condition = Q(pk__in=[])
    for a, b in ranges:
        condition |= Q(**{f"{field_name}__gte": a, f"{field_name}__lt": b})
    return condition
