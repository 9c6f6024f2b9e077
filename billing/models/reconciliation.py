"""Huawei's bill of a month checked against the console's CDRs, and the differences found."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.choices import (
    DifferenceKind,
    ReconciliationState,
)
from billing.models.base import MONEY
from billing.models.calls import CallRecord
from console.teams import ScopedManager


class BillReconciliation(models.Model):
    """Huawei's bill export of one month (费用中心), uploaded and checked against the console.

    The file is kept in ``source`` until a worker has read it (``billing.reconcile``); the
    figures and the differences (``BillDifference``) stay. ``application`` narrows the check to
    one application; empty: the whole account.
    """

    month = models.DateField(_("month"))
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    file_format = models.CharField(_("format"), max_length=8)
    source = models.BinaryField(_("file content"), blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=ReconciliationState.choices,
        default=ReconciliationState.QUEUED,
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    skipped_rows = models.PositiveIntegerField(_("rows of other charges"), default=0)
    billed_calls = models.PositiveIntegerField(_("calls on the bill"), default=0)
    billed_minutes = models.PositiveIntegerField(_("minutes on the bill"), default=0)
    billed_amount = models.DecimalField(_("amount on the bill"), default=0, **MONEY)
    our_minutes = models.PositiveIntegerField(_("minutes here"), default=0)
    our_amount = models.DecimalField(_("amount here"), default=0, **MONEY)
    difference_count = models.PositiveIntegerField(_("differences"), default=0)
    unpushed_count = models.PositiveIntegerField(_("billed, never pushed"), default=0)
    unpushed_minutes = models.PositiveIntegerField(_("minutes billed, never pushed"), default=0)
    unpushed_amount = models.DecimalField(_("amount billed, never pushed"), default=0, **MONEY)
    error = models.TextField(_("error"), blank=True)
    # While queued, reading or comparing; past it, the sweeper runs it again from the start.
    lease_until = models.DateTimeField(_("worker lease until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("bill reconciliation")
        verbose_name_plural = _("bill reconciliations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.file_name}"


class BillDifference(models.Model):
    """One difference between Huawei's bill and the console's figures, with the CDR behind it.

    ``call_id`` is the call record id (icid) as the bill or the console has it; ``row`` the line
    of the bill file. ``detail`` holds what explains it (our package minutes, talk seconds, the
    hour each side counts the call in).
    """

    reconciliation = models.ForeignKey(
        BillReconciliation,
        verbose_name=_("bill reconciliation"),
        on_delete=models.CASCADE,
        related_name="differences",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=DifferenceKind.choices)
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    hour = models.DateTimeField(_("hour"), null=True, blank=True)
    call_record = models.ForeignKey(
        CallRecord,
        verbose_name=_("call record"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    call_id = models.CharField(_("call record id"), max_length=300, blank=True)
    row = models.PositiveIntegerField(_("bill row"), null=True, blank=True)
    billed_minutes = models.IntegerField(_("minutes on the bill"), null=True, blank=True)
    our_minutes = models.IntegerField(_("minutes here"), null=True, blank=True)
    billed_amount = models.DecimalField(_("amount on the bill"), null=True, blank=True, **MONEY)
    our_amount = models.DecimalField(_("amount here"), null=True, blank=True, **MONEY)
    billed_price = models.DecimalField(
        _("unit price on the bill"), null=True, blank=True, max_digits=12, decimal_places=4
    )
    our_price = models.DecimalField(
        _("unit price here"), null=True, blank=True, max_digits=12, decimal_places=4
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("bill difference")
        verbose_name_plural = _("bill differences")
        ordering = ["reconciliation", "id"]
        indexes = [
            models.Index(fields=["reconciliation", "kind", "hour"], name="billdifference_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.reconciliation_id} {self.kind} {self.call_id}"
