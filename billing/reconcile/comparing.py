"""Comparing a month's bill with the console's CDRs: call by call where the bill has call ids,
hour by hour where it has not; every difference with the CDRs behind it."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from billing import settlement
from billing.choices import DifferenceKind
from billing.models import BillDifference, BillReconciliation, CallRecord
from billing.reconcile.reading import DIFFERENCES_KEPT, PROGRESS_EVERY, Bill, BillLine
from billing.services import CENT, month_bounds, price_of, tariff_for
from console.models import Application

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------


@dataclass
class OurCall:
    """A CDR of ours with what the console charges for it."""

    id: int
    application_id: int
    key: str
    hour: datetime
    direction: int
    minutes: int
    talk_seconds: int
    package_minutes: int
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.price * (self.minutes - self.package_minutes)).quantize(CENT)


@dataclass
class Comparison:
    differences: list[BillDifference] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    our_minutes: int = 0
    our_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    unpushed_minutes: int = 0
    unpushed_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    billed_calls: int = 0
    billed_minutes: int = 0
    billed_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))

    def add(self, kind: str, **values: Any) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= DIFFERENCES_KEPT:
            self.differences.append(BillDifference(kind=kind, **values))


def our_calls(application: Application, month: date) -> Iterator[OurCall]:
    """The billed calls of ``application`` that ended in ``month``, each with its package
    minutes (the hourly settlement's order) and price."""
    start, end = month_bounds(month)
    tariff = tariff_for(application, month)
    figures = {f.hour: f for f in settlement.hours(application.pk, start, end)}
    partial = {
        hour: settlement.split_calls(application.pk, hour, f.package_minutes)
        for hour, f in figures.items()
        if 0 < f.package_minutes < f.minutes
    }
    rows = (
        settlement.ended_between(settlement.billed_calls(application.pk), start, end)
        .order_by("call_end_time", "cdr_key")
        .values_list(
            "id", "cdr_key", "call_end_time", "direction", "billable_minutes", "talk_seconds"
        )
    )
    for pk, key, ended, direction, minutes, talk in rows.iterator(chunk_size=2000):
        hour = settlement.floor_hour(ended)
        hour_figures = figures.get(hour)
        if hour in partial:
            package = partial[hour].get(pk, 0)
        elif hour_figures is not None and hour_figures.package_minutes >= hour_figures.minutes:
            package = minutes
        else:
            package = 0
        yield OurCall(
            id=pk,
            application_id=application.pk,
            key=key,
            hour=hour,
            direction=direction,
            minutes=minutes,
            talk_seconds=talk,
            package_minutes=package,
            price=price_of(tariff, direction),
        )


def compare(job: BillReconciliation, bill: Bill, progress=None) -> Comparison:
    """Every difference between ``bill`` and the console's figures for the job's month."""
    result = Comparison()
    applications = (
        [job.application] if job.application_id else list(Application.objects.order_by("pk"))
    )
    scope = {app.pk for app in applications}
    lines_in_scope = [
        line for line in bill.lines if line.application_id is None or line.application_id in scope
    ]
    result.billed_calls = sum(1 for line in lines_in_scope if line.call_id)
    result.billed_minutes = sum(line.minutes for line in lines_in_scope)
    result.billed_amount = sum((line.amount for line in lines_in_scope), Decimal("0.00"))
    per_call = [line for line in bill.lines if line.call_id]
    hourly = [line for line in bill.lines if not line.call_id]
    billed: dict[str, list[BillLine]] = defaultdict(list)
    for line in per_call:
        if line.application_id is None or line.application_id in scope:
            billed[line.call_id].append(line)
    ours_by_hour: dict[tuple[int, datetime], tuple[int, Decimal]] = defaultdict(
        lambda: (0, Decimal("0.00"))
    )
    seen = 0
    for application in applications:
        for call in our_calls(application, job.month):
            seen += 1
            if progress is not None and seen % PROGRESS_EVERY == 0:
                progress(seen)
            result.our_minutes += call.minutes
            result.our_amount += call.amount
            minutes, amount = ours_by_hour[(call.application_id, call.hour)]
            ours_by_hour[(call.application_id, call.hour)] = (
                minutes + call.minutes,
                amount + call.amount,
            )
            lines = billed.pop(call.key, None)
            if lines is None:
                if per_call:
                    result.add(
                        DifferenceKind.NOT_BILLED,
                        application_id=call.application_id,
                        hour=call.hour,
                        call_record_id=call.id,
                        call_id=call.key,
                        our_minutes=call.minutes,
                        our_amount=call.amount,
                        our_price=call.price,
                        detail={"package_minutes": call.package_minutes},
                    )
                continue
            _compare_call(result, call, lines)
    _unmatched(result, billed, scope)
    if hourly:
        _compare_hours(result, hourly, ours_by_hour, scope)
    return result


def _merged(lines: list[BillLine]) -> BillLine:
    """A call billed on several lines (split at an hour, or listed twice) as one."""
    first = lines[0]
    if len(lines) == 1:
        return first
    return BillLine(
        row=first.row,
        hour=first.hour,
        application_id=first.application_id,
        call_id=first.call_id,
        minutes=sum(line.minutes for line in lines),
        amount=sum((line.amount for line in lines), Decimal("0.00")),
        unit_price=first.unit_price,
    )


def _compare_call(result: Comparison, call: OurCall, lines: list[BillLine]) -> None:
    line = _merged(lines)
    values = {
        "application_id": call.application_id,
        "hour": call.hour,
        "call_record_id": call.id,
        "call_id": call.key,
        "row": line.row,
        "billed_minutes": line.minutes,
        "our_minutes": call.minutes,
        "billed_amount": line.amount,
        "our_amount": call.amount,
        "billed_price": line.unit_price,
        "our_price": call.price,
        "detail": {
            "package_minutes": call.package_minutes,
            "excess_minutes": call.minutes - call.package_minutes,
            "talk_seconds": call.talk_seconds,
            "billed_hour": line.hour.isoformat(),
            "lines": len(lines),
        },
    }
    if line.minutes != call.minutes:
        result.add(DifferenceKind.LENGTH, **values)
    elif line.amount != call.amount:
        result.add(DifferenceKind.PRICE, **values)
    elif line.hour != call.hour:
        result.add(DifferenceKind.HOUR, **values)


def _unmatched(result: Comparison, billed: dict[str, list[BillLine]], scope: set[int]) -> None:
    """Calls on the bill the month's CDRs did not match: a CDR of another hour or month (or one
    without minutes here), one of an application not compared (left alone), else never
    pushed."""
    keys = list(billed)
    for index in range(0, len(keys), 1000):
        batch = keys[index : index + 1000]
        found = {
            record.cdr_key: record
            for record in CallRecord.objects.filter(cdr_key__in=batch).only(
                "id",
                "cdr_key",
                "application_id",
                "call_end_time",
                "started_at",
                "billable_minutes",
                "talk_seconds",
            )
        }
        for key in batch:
            line = _merged(billed[key])
            record = found.get(key)
            if record is None:
                result.unpushed_minutes += line.minutes
                result.unpushed_amount += line.amount
                result.add(
                    DifferenceKind.UNPUSHED,
                    application_id=line.application_id,
                    hour=line.hour,
                    call_id=key,
                    row=line.row,
                    billed_minutes=line.minutes,
                    billed_amount=line.amount,
                    billed_price=line.unit_price,
                )
                continue
            if record.application_id not in scope:
                continue
            hour = settlement.floor_hour(record.call_end_time or record.started_at)
            if record.billable_minutes == 0 and line.minutes == 0 and line.amount == 0:
                continue  # an unbilled call on both sides
            same_length = line.minutes == record.billable_minutes
            result.add(
                DifferenceKind.HOUR if same_length else DifferenceKind.LENGTH,
                application_id=record.application_id,
                hour=line.hour,
                call_record_id=record.pk,
                call_id=key,
                row=line.row,
                billed_minutes=line.minutes,
                our_minutes=record.billable_minutes,
                billed_amount=line.amount,
                billed_price=line.unit_price,
                detail={
                    "billed_hour": line.hour.isoformat(),
                    "our_hour": hour.isoformat(),
                    "talk_seconds": record.talk_seconds,
                    "elsewhere": True,
                },
            )


def _compare_hours(result, hourly: list[BillLine], ours_by_hour, scope: set[int]) -> None:
    """The bill's hourly lines against the console's hours: per application where the line
    names one, else against all of the applications compared."""
    account_wide = any(line.application_id is None for line in hourly)
    billed: dict[tuple[int | None, datetime], list[Any]] = defaultdict(
        lambda: [0, Decimal("0.00"), 0]
    )
    for line in hourly:
        total = billed[(None if account_wide else line.application_id, line.hour)]
        total[0] += line.minutes
        total[1] += line.amount
        total[2] = total[2] or line.row
    ours: dict[tuple[int | None, datetime], list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])
    for (application_id, hour), (minutes, amount) in ours_by_hour.items():
        key = (None if account_wide else application_id, hour)
        ours[key][0] += minutes
        ours[key][1] += amount
    for key in sorted(set(billed) | set(ours), key=lambda k: (k[1], k[0] or 0)):
        application_id, hour = key
        if application_id is not None and application_id not in scope:
            continue
        b_minutes, b_amount, row = billed.get(key, (0, Decimal("0.00"), None))
        o_minutes, o_amount = ours.get(key, (0, Decimal("0.00")))
        if (b_minutes, b_amount) != (o_minutes, o_amount):
            result.add(
                DifferenceKind.HOUR_TOTAL,
                application_id=application_id,
                hour=hour,
                row=row,
                billed_minutes=b_minutes,
                our_minutes=o_minutes,
                billed_amount=b_amount,
                our_amount=o_amount,
            )
