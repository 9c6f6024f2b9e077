"""Minute packages (套餐包): what an administrator may enter, what is left, when to warn.

Huawei starts a package at the full hour after it is bought (10:03 → 11:00) and its minutes are
drawn on hour by hour (``billing.settlement``); a package runs a year. Packages are entered per
application here. (Huawei binds them to the cloud account, shared by its applications; an account
with several applications enters each application's share as its own package.)

A package that a closed month drew on cannot change or go: that month's statement is final. One
that starts in a closed month cannot be added either, for the same reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing import settlement
from billing.models import Package, PackageDraw
from console import alerts
from console.choices import AlertKind
from console.models import Application


def validate(package: Package) -> None:
    """Whole hours, a window that ends after it starts, nothing that rewrites a closed month."""
    errors = {}
    for name in ("valid_from", "valid_until"):
        moment = getattr(package, name)
        if moment is not None and (moment.minute or moment.second or moment.microsecond):
            errors[name] = _("A package starts and ends on a whole hour (e.g. 11:00).")
    if package.valid_from and package.valid_until and package.valid_until <= package.valid_from:
        errors["valid_until"] = _("The package must end after it starts.")
    if errors:
        raise ValidationError(errors)
    if package.application_id is None or package.valid_from is None:
        return
    frozen = settlement.frozen_until(package.application_id)
    if frozen is not None and package.valid_from < frozen:
        local = timezone.localtime(frozen)
        raise ValidationError(
            {
                "valid_from": _(
                    "The statements up to %(month)s are closed: a package can start on "
                    "%(start)s at the earliest."
                )
                % {
                    "month": f"{timezone.localtime(frozen - settlement.HOUR):%Y-%m}",
                    "start": f"{local:%Y-%m-%d %H:%M}",
                }
            }
        )


def in_closed_month(package: Package) -> bool:
    """Whether a closed month drew on this package (it is then read-only)."""
    frozen = settlement.frozen_until(package.application_id)
    return frozen is not None and package.draws.filter(hour__lt=frozen).exists()


@dataclass(frozen=True)
class Balance:
    """What one package has left after the hours settled so far (``as_of``)."""

    package: Package
    used: int
    as_of: datetime | None

    @property
    def remaining(self) -> int:
        return max(self.package.minutes - self.used, 0)

    @property
    def used_percent(self) -> float:
        return round(100 * min(self.used, self.package.minutes) / self.package.minutes, 1)

    @property
    def threshold(self) -> int:
        """Alert at or below this many minutes left."""
        if self.package.alert_below_minutes is not None:
            return self.package.alert_below_minutes
        return math.ceil(self.package.minutes * settings.BILLING_PACKAGE_ALERT_PERCENT / 100)

    @property
    def low(self) -> bool:
        return self.remaining <= self.threshold

    def active(self, now: datetime) -> bool:
        return self.package.valid_from <= now < self.package.valid_until


def balances(
    application: Application | None = None, *, now: datetime | None = None, current=True
) -> list[Balance]:
    """Every package (of ``application``) valid now or later (``current``), with what it has left
    after the settled hours (its stored draws: one query, never the CDRs; the beat settles every
    few minutes)."""
    now = now or timezone.now()
    queryset = Package.objects.select_related("application")
    if application is not None:
        queryset = queryset.filter(application=application)
    if current:
        queryset = queryset.filter(valid_until__gt=now)
    packages = list(queryset.order_by("application__name", "priority", "valid_until", "id"))
    if not packages:
        return []
    used = dict(
        PackageDraw.objects.filter(package__in=packages)
        .values("package_id")
        .annotate(total=Sum("minutes"))
        .values_list("package_id", "total")
    )
    settled = dict(
        settlement.SettlementProgress.objects.filter(
            application_id__in={p.application_id for p in packages}
        ).values_list("application_id", "settled_until")
    )
    return [
        Balance(package=p, used=used.get(p.pk, 0), as_of=settled.get(p.application_id))
        for p in packages
    ]


def alert_key(package: Package) -> str:
    return f"package:{package.pk}"


def check_balances(application: Application, *, now: datetime | None = None) -> None:
    """Open (or bump) an alert for each valid package at or below its threshold; resolve the
    alerts of packages that have enough again, or are no longer valid."""
    now = now or timezone.now()
    for balance in balances(application, now=now, current=False):
        package = balance.package
        if not balance.active(now) or not balance.low:
            alerts.resolve_alert(AlertKind.PACKAGE_LOW, alert_key(package))
            continue
        alerts.raise_alert(
            AlertKind.PACKAGE_LOW,
            alert_key(package),
            application=application,
            title=(
                gettext_noop("Package %(package)s of %(application)s is used up")
                if balance.remaining == 0
                else gettext_noop("Package %(package)s of %(application)s is running out")
            ),
            detail=gettext_noop(
                "%(remaining)s of %(minutes)s minutes left, valid until %(until)s. Calls beyond "
                "it are charged at the tariff."
            ),
            params={
                "package": package.name,
                "application": application.name,
                "remaining": balance.remaining,
                "minutes": package.minutes,
                "until": f"{timezone.localtime(package.valid_until):%Y-%m-%d %H:%M}",
            },
        )


def changed(package: Package, since: datetime | None = None) -> None:
    """A package was added, changed or deleted: settle its hours again and reprice the open
    statements from then on."""
    from billing import services

    start = min(d for d in (package.valid_from, since) if d is not None)
    settlement.resettle(package.application, start)
    services.reprice_open_statements(package.application, services.month_start(start))
    check_balances(package.application)
