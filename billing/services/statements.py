"""Monthly statements: computed from the CDRs and the tariff, closed, recomputed."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from billing import settlement
from billing.choices import StatementState
from billing.models import (
    CallRecord,
    Package,
    Statement,
    Tariff,
)
from bindings.choices import NumberState
from bindings.models import XNumber
from console import partitions
from console.models import Application

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------


def local_zone() -> ZoneInfo:
    return partitions.zone()


# The months of statements are the months of the CDRs' partitions (console.partitions).
month_start = partitions.month_start


def next_month(month: date) -> date:
    return partitions.add_months(month, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a local (Asia/Shanghai) calendar month, as aware datetimes."""
    return partitions.start_of(month), partitions.start_of(next_month(month))


def tariff_for(application: Application, month: date) -> Tariff | None:
    """The tariff in force in ``month``: the latest one valid from that month or before."""
    return (
        Tariff.objects.filter(application=application, valid_from__lte=month)
        .order_by("-valid_from")
        .first()
    )


def count_x_numbers(application: Application, month: date) -> int:
    """X numbers rented in ``month``: in the pool before the month ended and not retired."""
    _, end = month_bounds(month)
    return (
        XNumber.objects.filter(application=application, created_at__lt=end)
        .exclude(state=NumberState.RETIRED)
        .count()
    )


@dataclass(frozen=True)
class StatementFigures:
    """Every figure of a statement, derived from the CDRs, the hourly settlement (package minutes
    first, the excess at the tariff), the tariff and the X numbers."""

    calls: int
    answered_calls: int
    minutes: int
    call_charges: Decimal
    x_numbers: int
    number_rent: Decimal
    total: Decimal
    lines: list[dict[str, Any]] = field(default_factory=list)
    tariff: Tariff | None = None
    package_minutes: int = 0
    excess_minutes: int = 0

    def as_fields(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "answered_calls": self.answered_calls,
            "minutes": self.minutes,
            "package_minutes": self.package_minutes,
            "excess_minutes": self.excess_minutes,
            "call_charges": self.call_charges,
            "x_numbers": self.x_numbers,
            "number_rent": self.number_rent,
            "total": self.total,
            "lines": self.lines,
            "tariff": self.tariff,
        }


def price_of(tariff: Tariff | None, direction: int) -> Decimal:
    """The price per started minute of ``direction`` (0.00 without a tariff)."""
    return tariff.price_for(direction) if tariff is not None else Decimal("0.00")


def compute_statement(
    application: Application,
    month: date,
    *,
    x_numbers: int | None = None,
    tariff: Tariff | None = None,
    rederive: bool = False,
) -> StatementFigures:
    """The figures of ``application``'s statement for ``month`` (a local calendar month).

    Calls and answered calls are the CDRs that started in the month, redial duplicates left out.
    Minutes and money follow the hourly settlement (``billing.settlement``): the calls that ended
    in the month's hours, their package minutes, and the excess minutes of each direction times
    that direction's price per started minute; rent is the X numbers times the monthly rent.
    ``x_numbers`` and ``tariff`` default to today's pool and the tariff in force; pass a closed
    statement's own to recompute it exactly. The settlement is read as stored (and derived for
    the hours not settled yet); ``rederive`` derives all of the month's hours from the CDRs again.
    """
    month = month_start(month)
    start, end = month_bounds(month)
    tariff = tariff if tariff is not None else tariff_for(application, month)
    per_direction = (
        CallRecord.objects.filter(
            application=application,
            started_at__gte=start,
            started_at__lt=end,
            redial_duplicate=False,
        )
        .values("direction")
        .annotate(
            calls=Count("id"),
            answered=Count("id", filter=Q(fwd_answer_time__isnull=False)),
        )
        .order_by("direction")
    )
    counts = {row["direction"]: (row["calls"], row["answered"]) for row in per_direction}
    hours = (settlement.derive if rederive else settlement.hours)(application.pk, start, end)
    settled: dict[int, settlement.Line] = {}
    for figures in hours:
        for direction, line in figures.lines.items():
            total = settled.setdefault(direction, settlement.Line())
            total.calls += line.calls
            total.minutes += line.minutes
            total.package_minutes += line.package_minutes
    lines = []
    calls = answered = minutes = package_minutes = excess_minutes = 0
    charges = Decimal("0.00")
    for direction in sorted(set(counts) | set(settled)):
        line = settled.get(direction, settlement.Line())
        n_calls, n_answered = counts.get(direction, (0, 0))
        price = price_of(tariff, direction)
        charge = (price * line.excess_minutes).quantize(CENT)
        lines.append(
            {
                "direction": direction,
                "calls": n_calls,
                "answered": n_answered,
                "minutes": line.minutes,
                "package_minutes": line.package_minutes,
                "excess_minutes": line.excess_minutes,
                "price": str(price),
                "charge": str(charge),
            }
        )
        calls += n_calls
        answered += n_answered
        minutes += line.minutes
        package_minutes += line.package_minutes
        excess_minutes += line.excess_minutes
        charges += charge
    numbers = count_x_numbers(application, month) if x_numbers is None else x_numbers
    rent = ((tariff.monthly_rent_per_number if tariff else Decimal(0)) * numbers).quantize(CENT)
    return StatementFigures(
        calls=calls,
        answered_calls=answered,
        minutes=minutes,
        package_minutes=package_minutes,
        excess_minutes=excess_minutes,
        call_charges=charges.quantize(CENT),
        x_numbers=numbers,
        number_rent=rent,
        total=(charges + rent).quantize(CENT),
        lines=lines,
        tariff=tariff,
    )


def recompute_differences(statement: Statement) -> dict[str, tuple[Any, Any]]:
    """Recompute a statement from the CDRs (with its own number count and tariff), settling its
    hours again in memory from the package balances its month opened with.

    Returns ``{figure: (stored, recomputed)}`` for every figure that differs; empty when the
    statement still matches its CDRs.
    """
    figures = compute_statement(
        statement.application,
        statement.month,
        x_numbers=statement.x_numbers,
        tariff=statement.tariff,
        rederive=True,
    )
    differences = {}
    for name, value in figures.as_fields().items():
        if name in ("tariff", "lines"):
            continue
        stored = getattr(statement, name)
        if stored != value:
            differences[name] = (stored, value)
    return differences


def refresh_statement(application: Application, month: date, *, close: bool = False) -> Statement:
    """Create or recompute the statement of one month; ``close`` freezes it, after settling and
    storing all of its hours. Closed ones stay."""
    month = month_start(month)
    with transaction.atomic():
        statement, _ = Statement.objects.select_for_update().get_or_create(
            application=application, month=month
        )
        if statement.state == StatementState.CLOSED:
            return statement
        if close:
            settlement.settle_application(application, until=month_bounds(month)[1])
        for name, value in compute_statement(application, month).as_fields().items():
            setattr(statement, name, value)
        statement.computed_at = timezone.now()
        if close:
            statement.state = StatementState.CLOSED
            statement.closed_at = statement.computed_at
        statement.save()
    return statement


def close_statements(now: datetime | None = None) -> list[int]:
    """Beat job: close last month's statements once the platform can no longer retry its CDRs,
    and keep the open ones up to date. Safe to run any number of times.

    A month is closed only with a tariff in force: without one its charges would be frozen at
    0.00 for good. Such a statement stays open (and says so, :func:`waits_for_tariff`) and is
    recomputed and closed by the first run after a tariff valid from that month or earlier is
    added (:func:`reprice_open_statements` does it at once when the tariff is saved). Open
    statements of earlier months are closed by the same rule. Returns the ids closed by this run.
    """
    now = now or timezone.now()
    grace = settings.BILLING_STATEMENT_CLOSE_AFTER
    current = month_start(now)
    previous = month_start(current - timedelta(days=1))
    closed = []
    for application in Application.objects.order_by("pk"):
        months = set(
            Statement.objects.filter(
                application=application, state=StatementState.OPEN, month__lt=current
            ).values_list("month", flat=True)
        ) | {previous, current}
        for month in sorted(months):
            existing = Statement.objects.filter(application=application, month=month).first()
            if existing is not None and existing.state == StatementState.CLOSED:
                continue
            if existing is None and not _has_anything_to_bill(application, month):
                continue
            due = month < current and month_bounds(month)[1] + grace <= now
            close = due and tariff_for(application, month) is not None
            if due and not close:
                logger.warning(
                    "statement of %s for %s stays open: no tariff in force that month",
                    application,
                    f"{month:%Y-%m}",
                )
            statement = refresh_statement(application, month, close=close)
            if close and statement.state == StatementState.CLOSED:
                closed.append(statement.pk)
    return closed


def packages_drawn(statement: Statement) -> list[tuple[Package, int]]:
    """The packages the statement's month drew on, in their consumption order, with the minutes
    each gave it (the hourly settlement: stored hours, the rest derived)."""
    start, end = month_bounds(statement.month)
    drawn: dict[int, int] = defaultdict(int)
    for hour in settlement.hours(statement.application_id, start, end):
        for package_id, minutes in hour.draws.items():
            drawn[package_id] += minutes
    packages = Package.objects.filter(pk__in=drawn).order_by("priority", "valid_until", "id")
    return [(package, drawn[package.pk]) for package in packages]


def waits_for_tariff(statement: Statement) -> bool:
    """An open statement with something to bill and no tariff: its charges are not counted yet."""
    return (
        statement.state == StatementState.OPEN
        and statement.tariff_id is None
        and bool(statement.minutes or statement.x_numbers)
    )


def reprice_open_statements(application: Application, since: date) -> int:
    """Recompute ``application``'s open statements from ``since`` on (a tariff was added or
    changed). Closed statements keep the tariff they were closed with. Returns how many."""
    months = Statement.objects.filter(
        application=application, state=StatementState.OPEN, month__gte=month_start(since)
    ).values_list("month", flat=True)
    count = 0
    for month in list(months):
        refresh_statement(application, month)
        count += 1
    return count


def _has_anything_to_bill(application: Application, month: date) -> bool:
    start, end = month_bounds(month)
    return (
        CallRecord.objects.filter(
            application=application, started_at__gte=start, started_at__lt=end
        ).exists()
        or count_x_numbers(application, month) > 0
    )
