"""The number-health guard (issue 16): each X's rolling figures, and a rest for an X past a
threshold so that the pool stops choosing it.

The figures come from the X's own CDRs (answer rate, short-call ratio, unanswered ratio, calls
per day), the complaints administrators entered, and the platform's X-number status pushes
(``bindings.XStatusChange``): the hours the X was paused, unavailable or frozen, and each carrier
restriction (status 10, cause 5: how a blacklisting after complaints arrives), which counts as a
complaint. All over the application's window
(``bindings.ApplicationPolicy``; defaults when it has none). They are computed by
:func:`assess`, one grouped query per application over ``billing_callrecord`` (its
``callrecord_app_recent`` index), and written in one upsert. CDR intake does nothing for it: beat
runs :func:`assess_recent` every minute for the applications that received CDRs since its last
run, and :func:`assess_all` every ten minutes (rests that ended, alerts to resolve).

An X past a threshold gets ``resting_until`` and ``rest_reason`` (``bindings.pool.usable`` leaves
it out) and an ``x_resting`` alert, which resolves itself when the rest is over or an
administrator ends it. The calls that earned a rest are not counted again afterwards
(``judged_since``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_noop

from billing.choices import CallOutcome
from billing.models import CallRecord, NumberComplaint, NumberHealth
from bindings.choices import PlatformNumberStatus
from bindings.models import ApplicationPolicy, XNumber, XStatusChange
from console import alerts
from console.choices import AlertKind
from console.models import Application

logger = logging.getLogger(__name__)

# Status 10 with cause 5, "restricted by the carrier": the push that tells of an X blacklisted
# after complaints (1012102 on the next bind); the guard counts each as a complaint.
BLACKLISTING = (PlatformNumberStatus.UNAVAILABLE.value, "5")


@dataclass(frozen=True)
class Figures:
    """One X's figures over its window."""

    calls: int
    answered: int
    short_calls: int
    complaints: int  # entered by administrators, plus the carrier restrictions
    days: int
    restrictions: int = 0
    unusable_hours: float = 0.0

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.calls if self.calls else None

    @property
    def short_call_ratio(self) -> float | None:
        return self.short_calls / self.answered if self.answered else None

    @property
    def unanswered_ratio(self) -> float | None:
        return (self.calls - self.answered) / self.calls if self.calls else None

    @property
    def calls_per_day(self) -> float:
        return self.calls / max(self.days, 1)


def verdict(figures: Figures, policy: ApplicationPolicy) -> tuple[float, list[str]]:
    """How far past its worst threshold an X is (0: within all), and each threshold it passed,
    in words (English; the rest reason and the alert are read by administrators)."""
    passed: list[str] = []
    score = 0.0

    def past(amount: float, text: str) -> None:
        nonlocal score
        score = max(score, amount)
        if amount > 0:
            passed.append(text)

    if figures.calls >= policy.min_calls:
        short, answer = figures.short_call_ratio, figures.answer_rate
        unanswered = figures.unanswered_ratio
        limit = float(policy.max_short_call_ratio)
        if short is not None:
            past(short - limit, f"short calls {short:.0%} > {limit:.0%}")
        least = float(policy.min_answer_rate)
        if answer is not None:
            past(least - answer, f"answer rate {answer:.0%} < {least:.0%}")
        most = float(policy.max_unanswered_ratio)
        if unanswered is not None:
            past(unanswered - most, f"unanswered {unanswered:.0%} > {most:.0%}")
    if figures.calls_per_day > policy.max_calls_per_day:
        over = figures.calls_per_day / max(policy.max_calls_per_day, 1) - 1
        past(over, f"{figures.calls_per_day:.0f} calls/day > {policy.max_calls_per_day}")
    if figures.complaints > policy.max_complaints:
        restricted = f" ({figures.restrictions} by the carrier)" if figures.restrictions else ""
        past(
            float(figures.complaints - policy.max_complaints),
            f"{figures.complaints} complaints{restricted} > {policy.max_complaints}",
        )
    if figures.unusable_hours > policy.max_unusable_hours:
        past(
            figures.unusable_hours / max(policy.max_unusable_hours, 1) - 1,
            f"{figures.unusable_hours:.0f} h out of service > {policy.max_unusable_hours} h",
        )
    return score, passed


def assess(application: Application, *, now: datetime | None = None) -> list[XNumber]:
    """Compute the figures of every X of ``application``, rest those past a threshold, end the
    alerts of rests that are over; returns the numbers rested now."""
    now = now or timezone.now()
    policy = ApplicationPolicy.for_application(application)
    window_start = now - timedelta(days=policy.health_window_days)
    numbers = {
        n.number: n
        for n in XNumber.objects.filter(application=application)
        .select_related("health")
        .annotate(status_before=_status_before(window_start))
    }
    if not numbers:
        return []
    since = {
        number: max(window_start, _judged_since(x) or window_start) for number, x in numbers.items()
    }
    # One grouped query: each X's calls per day of the window (started_at is indexed with
    # bind_num; redial duplicates are one call counted twice by the platform).
    daily: dict[str, dict[date, list[int]]] = defaultdict(dict)
    grouped = (
        CallRecord.objects.filter(
            application=application, started_at__gte=window_start, redial_duplicate=False
        )
        .exclude(bind_num="")
        .order_by()
        .annotate(day=TruncDate("started_at"))
        .values("bind_num", "day")
        .annotate(
            calls=Count("pk"),
            answered=Count("pk", filter=Q(outcome=CallOutcome.ANSWERED)),
            short=Count(
                "pk",
                filter=Q(outcome=CallOutcome.ANSWERED, talk_seconds__lt=policy.short_call_seconds),
            ),
        )
    )
    for row in grouped:
        if row["bind_num"] in numbers:
            daily[row["bind_num"]][row["day"]] = [row["calls"], row["answered"], row["short"]]
    complaints = dict(
        NumberComplaint.objects.filter(x__application=application, received_at__gte=window_start)
        .values("x__number")
        .annotate(n=Count("pk"))
        .values_list("x__number", "n")
    )
    changes: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    for x_id, at, status, cause in (
        XStatusChange.objects.filter(application=application, at__gte=window_start)
        .order_by("x", "at", "id")
        .values_list("x", "at", "status", "cause")
    ):
        changes[x_id].append((at, status, cause))
    rested: list[XNumber] = []
    healths = []
    for number, x in numbers.items():
        out_of_service, restrictions = _service(x, changes.get(x.pk, []), since[number], now)
        first_day = timezone.localdate(since[number])  # TruncDate's days are local too
        days = {d: v for d, v in daily.get(number, {}).items() if d >= first_day}
        figures = Figures(
            calls=sum(v[0] for v in days.values()),
            answered=sum(v[1] for v in days.values()),
            short_calls=sum(v[2] for v in days.values()),
            complaints=complaints.get(number, 0) + restrictions,
            days=max((timezone.localdate(now) - first_day).days + 1, 1),
            restrictions=restrictions,
            unusable_hours=out_of_service / 3600,
        )
        if not (figures.calls or figures.complaints or out_of_service or _has_health(x)):
            continue  # a quiet number: no row to write (a pool may hold thousands)
        score, passed = verdict(figures, policy)
        judged_since = _judged_since(x)
        resting = x.resting_until is not None and x.resting_until > now
        if passed and not resting:
            until = now + timedelta(hours=policy.rest_hours)
            reason = "; ".join(passed)[:200]
            if (
                XNumber.objects.filter(pk=x.pk)
                .filter(Q(resting_until__isnull=True) | Q(resting_until__lte=now))
                .update(resting_until=until, rest_reason=reason, updated_at=now)
            ):
                x.resting_until, x.rest_reason = until, reason
                judged_since = until  # its next judgement counts only later calls
                rested.append(x)
                alerts.raise_alert(
                    AlertKind.X_RESTING,
                    f"xnumber:{x.pk}",
                    title=gettext_noop("X number %(number)s rests until %(until)s"),
                    detail=gettext_noop(
                        "It is not chosen for new bindings meanwhile (%(reason)s). Its bindings "
                        "keep working; end the rest by hand in the X numbers' admin."
                    ),
                    params={
                        "number": x.number,
                        "until": f"{until:%Y-%m-%d %H:%M}",
                        "reason": reason,
                    },
                    application=application,
                )
        elif not resting:
            alerts.resolve_alert(AlertKind.X_RESTING, f"xnumber:{x.pk}")
        healths.append(
            NumberHealth(
                x=x,
                application=application,
                calls=figures.calls,
                answered=figures.answered,
                short_calls=figures.short_calls,
                complaints=figures.complaints,
                restrictions=figures.restrictions,
                unusable_hours=figures.unusable_hours,
                calls_per_day=figures.calls_per_day,
                answer_rate=figures.answer_rate,
                short_call_ratio=figures.short_call_ratio,
                unanswered_ratio=figures.unanswered_ratio,
                daily=[[d.isoformat(), *v] for d, v in sorted(daily.get(number, {}).items())],
                score=score,
                judged_since=judged_since,
                computed_at=now,
            )
        )
    NumberHealth.objects.bulk_create(
        healths,
        update_conflicts=True,
        unique_fields=["x"],
        update_fields=[
            "calls",
            "answered",
            "short_calls",
            "complaints",
            "restrictions",
            "unusable_hours",
            "calls_per_day",
            "answer_rate",
            "short_call_ratio",
            "unanswered_ratio",
            "daily",
            "score",
            "judged_since",
            "computed_at",
        ],
    )
    if rested:
        logger.warning(
            "health guard rested %d X number(s) of application %s", len(rested), application.pk
        )
    return rested


def _status_before(start: datetime) -> Subquery:
    """Each X's platform status when the window opened: its last pushed change before it."""
    return Subquery(
        XStatusChange.objects.filter(x=OuterRef("pk"), at__lt=start)
        .order_by("-at", "-id")
        .values("status")[:1]
    )


def _service(
    x: XNumber, changes: list[tuple[datetime, str, str]], start: datetime, now: datetime
) -> tuple[float, int]:
    """Seconds since ``start`` the X was not in service (any status but normal), and how many
    carrier restrictions were pushed since then, from its status changes of the window."""
    if changes or x.status_before is not None:
        status = x.status_before or PlatformNumberStatus.NORMAL
    elif x.platform_status != PlatformNumberStatus.NORMAL and x.platform_status_at:
        # No history (a number out of service since before the history began): since its
        # status was last set.
        start = max(start, x.platform_status_at)
        status = x.platform_status
    else:
        status = PlatformNumberStatus.NORMAL
    out, restrictions, moment = 0.0, 0, start
    for at, new_status, cause in changes:
        if at < start:
            status = new_status  # before the X was last judged: sets the state, not counted
            continue
        if status != PlatformNumberStatus.NORMAL:
            out += (at - moment).total_seconds()
        if (new_status, cause) == BLACKLISTING:
            restrictions += 1
        status, moment = new_status, at
    if status != PlatformNumberStatus.NORMAL:
        out += max((now - moment).total_seconds(), 0.0)
    return out, restrictions


def _has_health(x: XNumber) -> bool:
    try:
        return x.health is not None
    except NumberHealth.DoesNotExist:
        return False


def _judged_since(x: XNumber) -> datetime | None:
    try:
        return x.health.judged_since
    except NumberHealth.DoesNotExist:
        return None


def assess_all(*, now: datetime | None = None) -> int:
    """Beat: every application with X numbers; returns how many numbers were rested."""
    rested = 0
    for application in Application.objects.filter(numbers__isnull=False).distinct():
        rested += len(assess(application, now=now))
    return rested


CURSOR_KEY = "billing:health:last-record-id"


def assess_recent(*, now: datetime | None = None) -> int:
    """Beat (every minute): assess the applications that received CDRs since the last run;
    returns how many numbers were rested.

    The applications are read off the CDRs past a cursor (the highest CallRecord id assessed, in
    the cache), a range of the primary key; a cache that lost it assesses every application. A
    CDR committed late with a lower id is caught by :func:`assess_all` (every 10 minutes).
    CDR intake does nothing for the guard: ``ingest_cdrs`` and its signal are untouched.
    """
    top = CallRecord.objects.order_by("-id").values_list("id", flat=True).first()
    if top is None:
        return 0
    last = cache.get(CURSOR_KEY)
    if last == top:
        return 0
    if last is None or last > top:  # lost, or the table was restored: everything
        applications = Application.objects.filter(numbers__isnull=False).distinct()
    else:
        ids = (
            CallRecord.objects.filter(id__gt=last, id__lte=top)
            .order_by()
            .values_list("application_id", flat=True)
            .distinct()
        )
        applications = Application.objects.filter(pk__in=list(ids))
    rested = sum(len(assess(application, now=now)) for application in applications)
    cache.set(CURSOR_KEY, top, None)
    return rested
