"""Figures and chart geometry of the dashboard, read from the hourly totals (``CallStat``).

Reading the rollup instead of the CDRs keeps the page fast at any table size: 30 days are at most
720 hours × applications × outcomes rows, aggregated in four small queries per period. Charts are
plain SVG drawn by the template from the geometry computed here (no JavaScript, no CDN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import explain
from billing.choices import CallOutcome
from billing.models import CallStat, CallStatCursor, Tariff
from billing.services import local_zone, month_start
from console.models import Application

CHART_WIDTH = 720
CHART_HEIGHT = 160
TOP_CAUSES = 8


@dataclass(frozen=True)
class Bar:
    label: str
    answered: int
    failed: int
    x: float
    width: float
    answered_y: float
    answered_height: float
    failed_y: float
    failed_height: float
    show_label: bool


@dataclass(frozen=True)
class Cause:
    code: int
    text: str
    calls: int
    share: float
    width: float


@dataclass
class Period:
    title: str
    calls: int = 0
    answered: int = 0
    minutes: int = 0
    charges: Decimal | None = None
    bars: list[Bar] = field(default_factory=list)
    peak: int = 0
    failures: list[Cause] = field(default_factory=list)
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def failed(self) -> int:
        return self.calls - self.answered

    @property
    def answer_rate(self) -> float | None:
        return round(100 * self.answered / self.calls, 1) if self.calls else None


def _stats(start: datetime, application: Application | None):
    rows = CallStat.objects.filter(hour__gte=start)
    return rows.filter(application=application) if application is not None else rows


def _bars(buckets: list[tuple[Any, str]], totals: dict[Any, tuple[int, int]], every: int):
    peak = max((a + f for a, f in totals.values()), default=0)
    scale = (CHART_HEIGHT - 20) / peak if peak else 0
    slot = CHART_WIDTH / max(len(buckets), 1)
    bars = []
    for index, (key, label) in enumerate(buckets):
        answered, failed = totals.get(key, (0, 0))
        answered_height = answered * scale
        failed_height = failed * scale
        bottom = CHART_HEIGHT - 16
        bars.append(
            Bar(
                label=label,
                answered=answered,
                failed=failed,
                x=round(index * slot + 1, 2),
                width=round(max(slot - 2, 1), 2),
                answered_y=round(bottom - answered_height, 2),
                answered_height=round(answered_height, 2),
                failed_y=round(bottom - answered_height - failed_height, 2),
                failed_height=round(failed_height, 2),
                show_label=index % every == 0,
            )
        )
    return bars, peak


def _fill(
    period: Period, start: datetime, application, with_money: bool, step: str, now=None
) -> None:
    stats = _stats(start, application)
    answered_q = Q(outcome=CallOutcome.ANSWERED)
    overall = stats.aggregate(
        n_calls=Sum("calls"), n_answered=Sum("calls", filter=answered_q), n_minutes=Sum("minutes")
    )
    period.calls = overall["n_calls"] or 0
    period.answered = overall["n_answered"] or 0
    period.minutes = overall["n_minutes"] or 0

    zone = local_zone()
    per_bucket = (
        stats.annotate(bucket=Trunc("hour", step, tzinfo=zone))
        .values("bucket")
        .annotate(n_calls=Sum("calls"), n_answered=Sum("calls", filter=answered_q))
        .order_by()
    )
    totals = {}
    for row in per_bucket:
        key = timezone.localtime(row["bucket"], zone).replace(tzinfo=None)
        answered = row["n_answered"] or 0
        totals[key] = (answered, (row["n_calls"] or 0) - answered)
    first = timezone.localtime(start, zone).replace(tzinfo=None)
    if step == "hour":
        keys = [first + timedelta(hours=i) for i in range(24)]
        buckets = [(k, k.strftime("%H:00")) for k in keys]
        period.bars, period.peak = _bars(buckets, totals, every=3)
    else:
        keys = [first + timedelta(days=i) for i in range(30)]
        buckets = [(k, k.strftime("%m-%d")) for k in keys]
        period.bars, period.peak = _bars(buckets, totals, every=5)

    failures = (
        stats.exclude(answered_q)
        .values("release_point")
        .annotate(n_calls=Sum("calls"))
        .order_by("-n_calls", "release_point")[:TOP_CAUSES]
    )
    failed = period.failed
    biggest = max((row["n_calls"] for row in failures), default=0)
    period.failures = [
        Cause(
            code=row["release_point"],
            text=explain.release_point_text(
                row["release_point"] if row["release_point"] >= 0 else None
            ),
            calls=row["n_calls"],
            share=round(100 * row["n_calls"] / failed, 1) if failed else 0.0,
            width=round(300 * row["n_calls"] / biggest, 1) if biggest else 0.0,
        )
        for row in failures
    ]
    if with_money:
        period.charges = _charges(start, application, now or timezone.now())


def _charges(start: datetime, application: Application | None, now: datetime) -> Decimal:
    """What the calls that ended since ``start`` cost, as settled: the excess minutes of each
    direction (package minutes cost nothing more) times that month's tariff. Read from the stored
    settlement, never the CDRs; the hour in progress is not settled yet."""
    from billing import settlement

    end = settlement.floor_hour(now) + settlement.HOUR
    applications = [application] if application is not None else Application.objects.all()
    total = Decimal("0.00")
    tariffs: dict[tuple[int, Any], Tariff | None] = {}
    for app in applications:
        for figures in settlement.stored(app.pk, start, end):
            month = month_start(figures.hour)
            key = (app.pk, month)
            if key not in tariffs:
                tariffs[key] = (
                    Tariff.objects.filter(application_id=app.pk, valid_from__lte=month)
                    .order_by("-valid_from")
                    .first()
                )
            tariff = tariffs[key]
            if tariff is None:
                continue
            for direction, line in figures.lines.items():
                total += tariff.price_for(direction) * line.excess_minutes
    return total.quantize(Decimal("0.01"))


def last_24_hours(*, application=None, with_money=False, now=None) -> Period:
    now = now or timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    period = Period(title=str(_("Last 24 hours")))
    _fill(period, start, application, with_money, "hour", now)
    return period


def last_30_days(*, application=None, with_money=False, now=None) -> Period:
    now = timezone.localtime(now or timezone.now(), local_zone())
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=29)
    period = Period(title=str(_("Last 30 days")))
    _fill(period, start, application, with_money, "day", now)
    return period


def as_of() -> datetime | None:
    """When the hourly totals were last rebuilt."""
    cursor = CallStatCursor.objects.filter(pk=1).first()
    return cursor.updated_at if cursor else None
