"""The alerts administrators must look at."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.choices import (
    AlertKind,
)
from console.models.applications import Application
from console.teams import ScopedManager


class Alert(models.Model):
    """Something an administrator must look at, open until it is resolved.

    One open alert per ``kind`` + ``key`` (``key`` names the thing, e.g. ``application:7``):
    raising it again bumps ``count`` and ``last_seen_at`` instead of adding a row. ``title`` and
    ``detail`` are English message ids with ``%(name)s`` placeholders filled from ``params``,
    translated when shown (``console.alerts``). Written by ``console.alerts.raise_alert`` /
    ``resolve_alert`` only; people acknowledge. Opening and resolving are announced as webhooks
    (``alert.opened``/``alert.resolved``) with the row, and e-mailed after commit:
    ``emailed_at``/``resolution_emailed_at`` say the mail went out (a sweeper retries the rest).
    """

    kind = models.CharField(_("kind"), max_length=32, choices=AlertKind.choices)
    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    key = models.CharField(_("about"), max_length=200)
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    count = models.PositiveIntegerField(_("times raised"), default=1)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last raised"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True, editable=False)
    resolution_emailed_at = models.DateTimeField(
        _("resolution e-mailed"), null=True, blank=True, editable=False
    )

    # Teams see their applications' alerts and the global ones (a worker silent).
    objects = ScopedManager(shared_when_null=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_seen_at", "-id"]
        permissions = [("acknowledge_alert", _("Can acknowledge an alert"))]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-last_seen_at", "-id"],
                name="alert_open_recent",
                condition=Q(resolved_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
