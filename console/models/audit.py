"""The audit log, and the anchor its hash chain starts from."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from console.choices import (
    AuditAction,
)
from console.models.applications import Application
from console.teams import ScopedManager


class AuditLog(models.Model):
    """Who did what to which binding, number, recording or application, when, from where.

    Rows are written by ``console.audit.record`` only; the admin shows them read-only.
    """

    PRIVATE_TEXT_FIELDS = ("details",)  # numbers in it are masked; still, no lookup into it

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # The application the object acted on belongs to (empty: console-wide actions), so that a
    # team sees its own applications' rows and the console-wide ones (console.teams).
    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,  # the log outlives what it names; no lock on the application
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    target_type = models.ForeignKey(
        ContentType, verbose_name=_("object type"), null=True, on_delete=models.SET_NULL
    )
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # The hash chain (console.audit_chain): set by the sealer shortly after the row is written.
    sealed_seq = models.BigIntegerField(_("place in the chain"), null=True, blank=True, unique=True)
    chain_hash = models.CharField(_("chain hash"), max_length=64, blank=True, editable=False)

    # Teams see their applications' rows and the console-wide ones.
    objects = ScopedManager(shared_when_null=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]
        permissions = [
            # console.privacy: the one rule of who ever sees a full real number (each page
            # view that shows one is written here).
            ("view_real_numbers", _("Can see full real numbers (every view audited)")),
        ]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-at"]),
            # The admin's search by user name, newest first.
            models.Index(fields=["username", "-at"], name="auditlog_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.target_repr}"


class AuditChainAnchor(models.Model):
    """The one row the audit log's hash chain starts from: the place and hash of the last row the
    audit retention deleted (0 and "" before any). The sealer locks it, so one seals at a time."""

    last_deleted_seq = models.BigIntegerField(default=0)
    last_deleted_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit chain anchor")

    def __str__(self) -> str:
        return f"audit chain from #{self.last_deleted_seq}"
