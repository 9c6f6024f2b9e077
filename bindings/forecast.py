"""The pool forecast (issue 16): per application and city, how many days the free capacity lasts
at the current peak rate with the weekly pattern, and how many numbers to order to last N days.

The platform answers "no free number" (1012008) when a city's pool runs dry; this says so days
ahead. What a pool uses up each day is the growth of its peak of live bindings from one day to the
next (``PoolUsageDay``, recorded hourly by beat from the pool's own counts; ``daily_use``): the
bindings that end give their capacity back, so a pool whose peak is steady never runs out however
many binds it takes. :func:`project` reads such a history:

* the weekly pattern: each weekday's use against the centred 7-day mean around it, averaged
  over the history (a rise is not mistaken for a pattern; with less than two weeks, none);
* the level: the peak of the last seven days once the pattern is taken out (a busy Monday is
  not mistaken for growth), and the trend: a least-squares line through the last 28 such days,
  never read as falling (a pool is not planned on demand going away);
* the days left: the days' projected use, weekday by weekday, taken from the free capacity until
  it runs out (fractions of the last day included).

The tests check it against synthetic histories whose answer is known (flat, a linear rise, a
weekly cycle).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_noop

from bindings import cities, events, modes
from bindings.models import ApplicationPolicy, PoolUsageDay
from bindings.pool import usage
from console import alerts
from console.choices import AlertKind

HORIZON_DAYS = 365  # "more than a year" is as good as never
TREND_DAYS = 28
PEAK_DAYS = 7


@dataclass(frozen=True)
class Projection:
    """What a history says about the days ahead."""

    weekly: tuple[float, ...]  # factor per weekday, Monday first (1.0 each: no pattern)
    level: float  # the peak deseasonalised use per day now
    slope: float  # its growth per day (never negative)
    start_weekday: int  # weekday of the first day ahead

    def use_on(self, day: int) -> float:
        """Projected use on the ``day``-th day ahead (1 = tomorrow)."""
        weekday = (self.start_weekday + day - 1) % 7
        return max(self.level + self.slope * day, 0.0) * self.weekly[weekday]

    def days_left(self, free: float) -> float | None:
        """Days the ``free`` capacity lasts; None: more than :data:`HORIZON_DAYS`."""
        left = float(free)
        for day in range(1, HORIZON_DAYS + 1):
            use = self.use_on(day)
            if use >= left:
                return day - 1 + (left / use if use else 0.0)
            left -= use
        return None

    def use_over(self, days: int) -> float:
        """Projected use over the next ``days`` days."""
        return sum(self.use_on(day) for day in range(1, days + 1))


def project(history: list[float], last_day: date) -> Projection:
    """A projection from daily use, oldest first, whose last entry is ``last_day``."""
    count = len(history)
    weekdays = [(last_day - timedelta(days=count - 1 - i)).weekday() for i in range(count)]
    weekly = _weekly_pattern(history, weekdays)
    plain = [
        value / weekly[weekday]
        for value, weekday in zip(history, weekdays, strict=True)
        if weekly[weekday] > 0
    ]
    level = max(plain[-PEAK_DAYS:], default=0.0)
    slope = _slope(plain[-TREND_DAYS:])
    return Projection(
        weekly=tuple(weekly),
        level=level,
        slope=max(slope, 0.0),
        start_weekday=(last_day.weekday() + 1) % 7,
    )


def _weekly_pattern(history: list[float], weekdays: list[int]) -> list[float]:
    """Each weekday's factor: its days against the centred 7-day mean around them (so that a
    trend is not read as a pattern), averaged, then scaled to a mean of 1."""
    ratios: dict[int, list[float]] = defaultdict(list)
    for i in range(3, len(history) - 3):
        mean = sum(history[i - 3 : i + 4]) / 7
        if mean > 0:
            ratios[weekdays[i]].append(history[i] / mean)
    if any(len(ratios[w]) < 2 for w in range(7)):
        return [1.0] * 7  # less than two weeks: no pattern
    factors = [sum(ratios[w]) / len(ratios[w]) for w in range(7)]
    scale = sum(factors) / 7
    return [f / scale for f in factors] if scale > 0 else [1.0] * 7


def _slope(values: list[float]) -> float:
    n = len(values)
    if n < 3:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread


def numbers_to_order(projection: Projection, free: float, days: int, per_number: int) -> int:
    """How many numbers (of ``per_number`` bindings each) make the pool last ``days`` days."""
    short = projection.use_over(days) - free
    return math.ceil(short / per_number) if short > 0 else 0


# ---------------------------------------------------------------------------------------------
# From the database: the history of every pool, its forecast, the alert
# ---------------------------------------------------------------------------------------------


def record_usage(*, now: datetime | None = None) -> int:
    """Beat (hourly): today's peak of live bindings of every pool (``PoolUsageDay``), from the
    pool's counts (one aggregate over the numbers, ``pool.usage``); returns the pools written."""
    today = timezone.localdate(now or timezone.now())
    rows = usage()
    known = {
        (u.application_id, u.city_code): u.peak_bindings
        for u in PoolUsageDay.objects.filter(day=today)
    }
    days = [
        PoolUsageDay(
            application_id=row["application_id"],
            city_code=row["city_code"],
            day=today,
            peak_bindings=max(
                row["bindings"], known.get((row["application_id"], row["city_code"]), 0)
            ),
            capacity=row["capacity"],
        )
        for row in rows
    ]
    PoolUsageDay.objects.bulk_create(
        days,
        update_conflicts=True,
        unique_fields=["application", "city_code", "day"],
        update_fields=["peak_bindings", "capacity"],
    )
    return len(days)


def recorded_peaks(first: date, today: date) -> dict[tuple[int, str], dict[date, int]]:
    """Each pool's recorded peaks of live bindings from ``first`` to the day before ``today``.
    One query."""
    peaks: dict[tuple[int, str], dict[date, int]] = defaultdict(dict)
    for application_id, city, day, peak in PoolUsageDay.objects.filter(
        day__gte=first, day__lt=today
    ).values_list("application_id", "city_code", "day", "peak_bindings"):
        peaks[(application_id, city)][day] = peak
    return peaks


def daily_use(
    days: int, *, today: date, peaks: dict[tuple[int, str], dict[date, int]] | None = None
) -> dict[tuple[int, str], list[float]]:
    """Each pool's daily use over the ``days`` days before ``today``, oldest first: how much its
    peak of live bindings grew from one recorded day to the next (a day not recorded: no change;
    a pool whose peak falls as bindings end uses less than nothing that day). One query, unless
    the peaks of those days (:func:`recorded_peaks`) are given."""
    first = today - timedelta(days=days + 1)
    if peaks is None:
        peaks = recorded_peaks(first, today)
    history: dict[tuple[int, str], list[float]] = {}
    for key, by_day in peaks.items():
        series: list[float] = []
        previous: int | None = None
        for offset in range(days + 1):
            day = first + timedelta(days=offset)
            peak = by_day.get(day, previous)
            if previous is not None and peak is not None:
                series.append(float(peak - previous))
            elif offset:
                series.append(0.0)  # nothing recorded yet
            previous = peak
        history[key] = series[-days:]
    return history


def forecasts(*, now: datetime | None = None, history_days: int = 56) -> list[dict]:
    """Every pool of the usage page with its days left, its order for the application's horizon
    (``ApplicationPolicy.forecast_days``) and its projection: two small queries besides the
    usage's own (the recorded days, the policies)."""
    rows = [
        {**row, "per_number": max(row["capacity"] // max(row["total"] - row["retired"], 1), 1)}
        for row in usage()
    ]
    return _forecast(rows, now=now, history_days=history_days)


def recorded_forecasts(*, now: datetime | None = None, history_days: int = 56) -> list[dict]:
    """:func:`forecasts` from what beat recorded (``PoolUsageDay``, hourly) instead of the pool's
    live aggregate over every X number: the dashboard's, as of the last record (today's, else
    yesterday's), in three small queries whatever the size of the pools."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    latest: dict[tuple[int, str], dict] = {}
    for row in (
        PoolUsageDay.objects.filter(day__in=[today - timedelta(days=1), today])
        .order_by("day")
        .values(
            "application_id",
            "application__name",
            "application__mode",
            "application__extension_length",
            "city_code",
            "peak_bindings",
            "capacity",
        )
    ):
        latest[(row["application_id"], row["city_code"])] = {  # the later day wins
            "application_id": row["application_id"],
            "application": row["application__name"],
            "mode": row["application__mode"],
            "city_code": row["city_code"],
            "city_name": cities.name_of(row["city_code"]),
            "bindings": row["peak_bindings"],
            "capacity": row["capacity"],
            "per_number": max(
                modes.per_x_capacity(
                    row["application__mode"], row["application__extension_length"]
                ),
                1,
            ),
        }
    return _forecast(list(latest.values()), now=now, history_days=history_days)


def _forecast(rows: list[dict], *, now: datetime | None, history_days: int) -> list[dict]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    peaks = recorded_peaks(today - timedelta(days=history_days + 1), today)
    history = daily_use(history_days, today=today, peaks=peaks)
    policies = {p.application_id: p for p in ApplicationPolicy.objects.all()}
    result = []
    for row in rows:
        key = (row["application_id"], row["city_code"])
        projection = project(history.get(key, [0.0] * history_days), today - timedelta(days=1))
        free = max(row["capacity"] - row["bindings"], 0)
        policy = policies.get(row["application_id"]) or ApplicationPolicy()
        result.append(
            {
                **row,
                "free": free,
                "days_left": projection.days_left(free),
                "wanted_days": policy.forecast_days,
                "to_order": numbers_to_order(
                    projection, free, policy.forecast_days, row["per_number"]
                ),
                "projection": projection,
                "chart": chart(
                    peaks.get(key, {}),
                    projection,
                    today=today,
                    bindings=row["bindings"],
                    capacity=row["capacity"],
                    ahead=policy.forecast_days,
                ),
            }
        )
    return result


@dataclass(frozen=True)
class Chart:
    """One pool drawn for an SVG of ``WIDTH`` × ``HEIGHT``: its recorded daily peaks (the last
    :data:`CHART_PAST_DAYS` days and today's count), the projection from today's count over the
    days ahead, and the capacity; ``runs_out_x`` marks where the projection crosses it."""

    past: str  # SVG polyline points
    ahead: str
    capacity_y: float
    today_x: float
    runs_out_x: float | None
    top: int  # the value of the chart's top edge
    days_ahead: int

    WIDTH = 220
    HEIGHT = 64


CHART_PAST_DAYS = 28


def chart(
    peaks: dict[date, int],
    projection: Projection,
    *,
    today: date,
    bindings: int,
    capacity: int,
    ahead: int,
) -> Chart:
    """The points of one pool's chart: past peaks on the left of today, the projected live
    bindings (today's count plus each day's projected use) on its right."""
    past = [
        (offset, peaks[today - timedelta(days=CHART_PAST_DAYS - offset)])
        for offset in range(CHART_PAST_DAYS)
        if today - timedelta(days=CHART_PAST_DAYS - offset) in peaks
    ]
    past.append((CHART_PAST_DAYS, bindings))
    projected = [(CHART_PAST_DAYS, float(bindings))]
    for day in range(1, ahead + 1):
        projected.append((CHART_PAST_DAYS + day, projected[-1][1] + projection.use_on(day)))
    days = CHART_PAST_DAYS + ahead
    top = max([capacity, 1, *(v for _, v in past), *(math.ceil(v) for _, v in projected)])
    width, height = Chart.WIDTH, Chart.HEIGHT

    def x(day: float) -> float:
        return round(day * width / days, 1)

    def y(value: float) -> float:
        return round(height - value * (height - 4) / top, 1)

    days_left = projection.days_left(max(capacity - bindings, 0))
    return Chart(
        past=" ".join(f"{x(d)},{y(v)}" for d, v in past),
        ahead=" ".join(f"{x(d)},{y(v)}" for d, v in projected),
        capacity_y=y(capacity),
        today_x=x(CHART_PAST_DAYS),
        runs_out_x=(
            x(CHART_PAST_DAYS + days_left) if days_left is not None and days_left <= ahead else None
        ),
        top=top,
        days_ahead=ahead,
    )


def check_pools(*, now: datetime | None = None) -> int:
    """Beat (hourly): record today's usage, then a ``pool_low`` alert for each pool with fewer
    days left than its application wants, resolved once it has enough again; returns how many
    are open."""
    record_usage(now=now)
    low = 0
    for row in forecasts(now=now):
        key = f"pool:{row['application_id']}:{row['city_code']}"
        days_left = row["days_left"]
        if days_left is not None and days_left < row["wanted_days"]:
            low += 1
            alerts.raise_alert(
                AlertKind.POOL_LOW,
                key,
                title=gettext_noop("Pool of %(application)s in %(city)s lasts %(days)s more days"),
                detail=gettext_noop(
                    "At the current peak bind rate with the weekly pattern; order %(order)s "
                    "numbers to last %(wanted)s days."
                ),
                params={
                    "application": row["application"],
                    "city": row["city_code"],
                    "days": f"{days_left:.1f}",
                    "order": row["to_order"],
                    "wanted": row["wanted_days"],
                },
                application=row["application_id"],
                # pool.low once per opening, with the alert row
                on_open=lambda _alert, row=row: events.announce_pool_low(row),
            )
        else:
            alerts.resolve_alert(AlertKind.POOL_LOW, key)
    return low
