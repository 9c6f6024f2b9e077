"""Cost allocation: what each business line cost in a month, by one dimension of the calls.

The figures are the statements' own, split by a key of each billed call: its application, the
prefix of its binding's order reference (the first N characters, or what comes before a
separator), or its binding's cost tag. They follow the hourly settlement (``billing.settlement``):
a call is counted in the month and hour it ended, its package minutes are those the settlement
gave it (the hour's calls in the order they ended), and its excess minutes are charged at its
application's tariff for its direction. So the rows of any dimension add up to the statements:
minutes, package minutes, excess minutes and call charges (number rent is per number, not per
call, and is not allocated).

**Dimensions are a small registry** (:data:`DIMENSIONS`): a name, a label, and the expression
that gives a call's key. A new way to break costs down is one :func:`register` call; issue 17's
teams, once a binding has a team, are::

    register(Dimension("team", _("Team"), lambda options: F("binding__team__name"), _("(no team)")))

:func:`allocate` returns plain data (dataclasses of numbers and text), which the page, its
exports and the API (read-only, later) all use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, F, Sum, Value, When
from django.db.models.functions import Coalesce, StrIndex, Substr
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _

from billing import settlement
from billing.services import CENT, month_bounds, month_start, price_of, tariff_for
from console.models import Application


@dataclass(frozen=True)
class Options:
    """How a dimension reads a call: the order reference's prefix length, or its separator."""

    prefix_length: int = 4
    separator: str = ""

    @classmethod
    def default(cls) -> Options:
        return cls(
            prefix_length=settings.BILLING_ALLOCATION_PREFIX_LENGTH,
            separator=settings.BILLING_ALLOCATION_PREFIX_SEPARATOR,
        )


@dataclass(frozen=True)
class Dimension:
    """One way to break the costs down: ``key(options)`` is an expression on ``CallRecord``
    giving a call's group (text; empty when the call has none, listed as ``empty``)."""

    name: str
    label: Any
    key: Callable[[Options], Any]
    empty: Any


DIMENSIONS: dict[str, Dimension] = {}


def register(dimension: Dimension) -> None:
    DIMENSIONS[dimension.name] = dimension


def order_prefix(options: Options):
    """The order reference up to its first ``separator`` (the whole of it when it has none), or
    its first ``prefix_length`` characters."""
    reference = Coalesce(F("binding__order_ref"), Value(""))
    if options.separator:
        position = StrIndex(reference, Value(options.separator))
        return Case(
            When(GreaterThan(position, 0), then=Substr(reference, 1, position - 1)),
            default=reference,
        )
    return Substr(reference, 1, max(1, options.prefix_length))


register(
    Dimension("application", _("Application"), lambda options: F("application__name"), _("(none)"))
)
register(Dimension("order_prefix", _("Order reference prefix"), order_prefix, _("(no binding)")))
register(
    Dimension(
        "tag",
        _("Cost tag"),
        lambda options: Coalesce(F("binding__cost_tag"), Value("")),
        _("(no tag)"),
    )
)


@dataclass
class AllocationRow:
    """One group's share of the month."""

    key: str
    label: str
    calls: int = 0
    minutes: int = 0
    package_minutes: int = 0
    excess_minutes: int = 0
    excess_charge: Decimal = field(default_factory=lambda: Decimal("0.00"))

    def add(self, other: AllocationRow) -> None:
        self.calls += other.calls
        self.minutes += other.minutes
        self.package_minutes += other.package_minutes
        self.excess_minutes += other.excess_minutes
        self.excess_charge += other.excess_charge


@dataclass
class Allocation:
    """The month's costs by one dimension, largest charge first, and their total."""

    month: date
    dimension: str
    options: Options
    rows: list[AllocationRow]
    total: AllocationRow

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (money as text, exact)."""

        def row(r: AllocationRow) -> dict[str, Any]:
            return {**asdict(r), "excess_charge": str(r.excess_charge)}

        return {
            "month": f"{self.month:%Y-%m}",
            "dimension": self.dimension,
            "options": asdict(self.options),
            "rows": [row(r) for r in self.rows],
            "total": row(self.total),
        }


def allocate(
    month: date,
    dimension: str = "application",
    *,
    application: Application | None = None,
    options: Options | None = None,
) -> Allocation:
    """The costs of ``month`` (a local calendar month) by ``dimension``, for one application or
    all of them. Two grouped queries per application, plus one ordered read of each hour in
    which a package ran out (its calls share the package's last minutes)."""
    if dimension not in DIMENSIONS:
        raise KeyError(dimension)
    month = month_start(month)
    options = options or Options.default()
    chosen = DIMENSIONS[dimension]
    start, end = month_bounds(month)
    applications = [application] if application is not None else Application.objects.all()
    groups: dict[str, AllocationRow] = {}
    for app in applications:
        for key, row in _allocate_application(app, month, start, end, chosen, options).items():
            groups.setdefault(key, AllocationRow(key=key, label=row.label)).add(row)
    rows = sorted(groups.values(), key=lambda r: (-r.excess_charge, -r.minutes, r.key))
    total = AllocationRow(key="", label=str(_("Total")))
    for row in rows:
        total.add(row)
    return Allocation(month=month, dimension=dimension, options=options, rows=rows, total=total)


def _allocate_application(app, month, start, end, dimension: Dimension, options: Options):
    key = dimension.key(options)
    figures = settlement.hours(app.pk, start, end)
    tariff = tariff_for(app, month)
    calls = settlement.ended_between(settlement.billed_calls(app.pk), start, end).annotate(
        allocation_key=key
    )
    totals = calls.values("allocation_key", "direction").annotate(
        calls=Count("id"), minutes=Sum("billable_minutes")
    )
    package: dict[tuple[str, int], int] = defaultdict(int)
    covered = [f.hour for f in figures if f.minutes and f.package_minutes == f.minutes]
    if covered:
        ranges = settlement.hour_ranges(covered)
        for row in (
            calls.filter(settlement.in_ranges("call_end_time", ranges))
            .values("allocation_key", "direction")
            .annotate(minutes=Sum("billable_minutes"))
            .order_by()
        ):
            package[(row["allocation_key"] or "", row["direction"])] += row["minutes"]
    for f in figures:
        if 0 < f.package_minutes < f.minutes:
            for (group, direction), minutes in settlement.split_hour(
                app.pk, f.hour, f.package_minutes, key=key
            ).items():
                package[(group or "", direction)] += minutes
    result: dict[str, AllocationRow] = {}
    for row in totals.order_by():
        group = row["allocation_key"] or ""
        label = group or str(dimension.empty)
        share = result.setdefault(group, AllocationRow(key=group, label=label))
        from_package = package[(group, row["direction"])]
        excess = row["minutes"] - from_package
        share.add(
            AllocationRow(
                key=group,
                label=label,
                calls=row["calls"],
                minutes=row["minutes"],
                package_minutes=from_package,
                excess_minutes=excess,
                excess_charge=(price_of(tariff, row["direction"]) * excess).quantize(CENT),
            )
        )
    return result
