"""Tariffs, monthly statements, the dashboard's hourly rollup, packages and hourly settlement."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.choices import (
    CallOutcome,
    StatementState,
)
from billing.models.base import MONEY, PRICE
from console.teams import ScopedManager


class Tariff(models.Model):
    """Prices of one application from a month on: per started minute by direction, and rent.

    The tariff of a month is the one with the latest ``valid_from`` on or before the month's first
    day, so changing prices never rewrites a month already billed.
    """

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="tariffs",
    )
    valid_from = models.DateField(
        _("valid from (month)"), help_text=_("The first day of the first month it applies to.")
    )
    price_to_a = models.DecimalField(
        _("per started minute, direction 0 (to A)"), default=0, **PRICE
    )
    price_from_a = models.DecimalField(
        _("per started minute, direction 1 (from A)"), default=0, **PRICE
    )
    price_abnormal = models.DecimalField(
        _("per started minute, direction 2 (abnormal)"), default=0, **PRICE
    )
    monthly_rent_per_number = models.DecimalField(
        _("monthly rent per X number"), default=0, **PRICE
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["application", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "valid_from"], name="tariff_unique_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} {self.valid_from:%Y-%m}"

    def price_for(self, direction: int):
        return {0: self.price_to_a, 1: self.price_from_a}.get(direction, self.price_abnormal)


class Statement(models.Model):
    """The bill of one application for one month (months in Asia/Shanghai time).

    ``billing.services.compute_statement`` derives every figure from the CDRs, the hourly
    settlement (package minutes first, the excess at the tariff: ``billing.settlement``), the
    tariff and the X numbers; ``close_statements`` freezes it once the platform can no longer retry
    a CDR of that month. ``call_charges`` is the charge of the excess minutes. Recomputing a closed
    statement from the CDRs gives the same figures.
    """

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="statements",
    )
    month = models.DateField(_("month"))
    state = models.CharField(
        _("state"), max_length=6, choices=StatementState.choices, default=StatementState.OPEN
    )
    tariff = models.ForeignKey(
        Tariff,
        verbose_name=_("tariff"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statements",
    )
    calls = models.PositiveIntegerField(_("calls"), default=0)
    answered_calls = models.PositiveIntegerField(_("answered calls"), default=0)
    minutes = models.PositiveIntegerField(_("billable minutes"), default=0)
    package_minutes = models.PositiveIntegerField(_("package minutes"), default=0)
    excess_minutes = models.PositiveIntegerField(_("excess minutes"), default=0)
    call_charges = models.DecimalField(_("call charges"), default=0, **MONEY)
    x_numbers = models.PositiveIntegerField(_("X numbers"), default=0)
    number_rent = models.DecimalField(_("number rent"), default=0, **MONEY)
    total = models.DecimalField(_("total"), default=0, **MONEY)
    lines = models.JSONField(_("lines by direction"), default=list, blank=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "application"]
        permissions = [("close_statement", _("Can close or recompute a statement"))]
        constraints = [
            models.UniqueConstraint(fields=["application", "month"], name="statement_unique_month"),
        ]

    def __str__(self) -> str:
        return f"{self.application} {self.month:%Y-%m}"


class CallStat(models.Model):
    """Hourly totals of calls for the dashboard, rebuilt from the CDRs by a beat job.

    One row per (hour, application, direction, outcome, release point). Rebuilding an hour is
    idempotent, so late CDRs (the platform retries for five hours) only make their hour rebuilt
    again. Charges are not stored: they follow from minutes and the tariff of the month.
    """

    hour = models.DateTimeField(_("hour"))
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    direction = models.PositiveSmallIntegerField(_("direction"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=CallOutcome.choices)
    release_point = models.IntegerField(_("release point"))
    calls = models.PositiveIntegerField(_("calls"))
    minutes = models.PositiveIntegerField(_("billable minutes"))

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("hourly call totals")
        verbose_name_plural = _("hourly call totals")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "hour", "direction", "outcome", "release_point"],
                name="callstat_unique",
            ),
        ]
        indexes = [models.Index(fields=["hour"], name="callstat_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.outcome} {self.calls}"


class CallStatCursor(models.Model):
    """Single row: the highest CallRecord id the rollup has surely seen (see CallStat)."""

    last_record_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("rollup cursor")
        verbose_name_plural = _("rollup cursor")

    def __str__(self) -> str:
        return str(self.last_record_id)


class Package(models.Model):
    """A minute package (套餐包) of one application: minutes bought for a price, valid for a while.

    Huawei deducts call minutes from the packages first and charges only the excess at the
    tariff; it settles by the hour (``billing.settlement``). A package is drawn on in the hours
    that lie wholly inside ``[valid_from, valid_until)`` (both whole hours: Huawei starts a package
    at the full hour after its purchase), in the order of ``priority`` (lower first), then the one
    that expires first. What it has left is ``minutes`` minus its draws (``PackageDraw``).
    """

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="packages",
    )
    name = models.CharField(_("name"), max_length=100)
    minutes = models.PositiveIntegerField(_("minutes"), validators=[MinValueValidator(1)])
    price = models.DecimalField(_("price (CNY)"), default=0, **PRICE)
    valid_from = models.DateTimeField(
        _("valid from"), help_text=_("A whole hour (Beijing time): Huawei starts a package then.")
    )
    valid_until = models.DateTimeField(
        _("valid until"), help_text=_("A whole hour (Beijing time): minutes left then expire.")
    )
    priority = models.PositiveSmallIntegerField(
        _("consumption order"),
        default=1,
        help_text=_("Packages valid in the same hour are used in this order, lowest first."),
    )
    alert_below_minutes = models.PositiveIntegerField(
        _("alert below (minutes)"),
        null=True,
        blank=True,
        help_text=_("Open an alert when fewer minutes are left; empty: the console's default."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("package")
        verbose_name_plural = _("packages")
        ordering = ["application", "priority", "valid_until", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")),
                name="package_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.name}"

    def clean(self) -> None:
        from billing import packages

        packages.validate(self)


class PackageDraw(models.Model):
    """The minutes one package gave to one hour's calls (written by the hourly settlement)."""

    package = models.ForeignKey(
        Package, verbose_name=_("package"), on_delete=models.CASCADE, related_name="draws"
    )
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # led by the (application, hour) index below
    )
    hour = models.DateTimeField(_("hour"))
    minutes = models.PositiveIntegerField(_("minutes"))

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("package draw")
        verbose_name_plural = _("package draws")
        constraints = [
            models.UniqueConstraint(fields=["package", "hour"], name="packagedraw_unique_hour"),
        ]
        indexes = [models.Index(fields=["application", "hour"], name="packagedraw_app_hour")]

    def __str__(self) -> str:
        return f"{self.package_id} {self.hour:%Y-%m-%d %H}:00 {self.minutes}"


class SettledHour(models.Model):
    """The settlement of one application's calls that ended in one hour (结算以小时为周期).

    ``minutes`` are the billable minutes of the calls that ended in the hour; ``package_minutes``
    came from packages, ``excess_minutes`` are charged at the tariff. ``lines`` splits them by
    CDR direction (``{"1": {"calls", "minutes", "package_minutes", "excess_minutes"}}``): the
    package minutes go to the hour's calls in the order they ended, so when a package runs out
    within the hour the later calls are the excess. Money is not stored: excess minutes × the
    price of the month's tariff. A CDR that arrives after its hour was settled makes the hour (and
    the hours after it, whose balances it moves) settled again: ``revisions``, ``late_calls`` and
    ``before`` say so.
    """

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # led by the unique (application, hour) constraint
    )
    hour = models.DateTimeField(_("hour"))
    calls = models.PositiveIntegerField(_("billed calls"), default=0)
    minutes = models.PositiveIntegerField(_("billable minutes"), default=0)
    package_minutes = models.PositiveIntegerField(_("package minutes"), default=0)
    excess_minutes = models.PositiveIntegerField(_("excess minutes"), default=0)
    lines = models.JSONField(_("lines by direction"), default=dict, blank=True)
    first_settled_at = models.DateTimeField(_("first settled"), default=timezone.now)
    settled_at = models.DateTimeField(_("settled"), default=timezone.now)
    revisions = models.PositiveIntegerField(_("revisions"), default=0)
    late_calls = models.PositiveIntegerField(_("late call records"), default=0)
    before = models.JSONField(_("figures before the last revision"), default=dict, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("settled hour")
        verbose_name_plural = _("settled hours")
        ordering = ["application", "hour"]
        constraints = [
            models.UniqueConstraint(fields=["application", "hour"], name="settledhour_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.hour:%Y-%m-%d %H}:00"


class SettlementProgress(models.Model):
    """How far the hourly settlement of one application got.

    Hours before ``settled_until`` are settled; ``last_record_id`` is the CDR id up to which the
    settlement has looked for late arrivals (CDRs of hours it had settled already).
    """

    application = models.OneToOneField(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    settled_until = models.DateTimeField(_("settled until"), null=True, blank=True)
    last_record_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("settlement progress")
        verbose_name_plural = _("settlement progress")

    def __str__(self) -> str:
        return f"{self.application_id} {self.settled_until}"
