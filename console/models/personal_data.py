"""Retention policies and access requests (docs/privacy.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console.choices import (
    AccessRequestState,
)
from console.models.applications import Application
from console.teams import ScopedManager


class AccessRequest(models.Model):
    """A person's access request (PIPL Art. 45): a file with everything the console holds about
    one number, gathered by a worker (``console.access_requests``), downloadable once.

    The number is kept encrypted only until the file is built; then only its masked form stays.
    """

    number_encrypted = models.TextField(editable=False, blank=True)
    number_masked = models.CharField(_("number"), max_length=40)
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=AccessRequestState.choices,
        default=AccessRequestState.QUEUED,
    )
    parts_done = models.PositiveSmallIntegerField(_("places searched"), default=0)
    parts_total = models.PositiveSmallIntegerField(_("places to search"), default=0)
    content = models.BinaryField(_("file"), editable=False, default=b"")
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    rows = models.PositiveIntegerField(_("rows found"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("downloaded"), null=True, blank=True)
    lease_until = models.DateTimeField(_("worker lease until"), null=True, blank=True)

    class Meta:
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        indexes = [
            models.Index(
                fields=["lease_until"],
                name="accessrequest_leased",
                condition=Q(state__in=["queued", "building"]),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.number_masked} {self.state}"


class RetentionPolicy(models.Model):
    """How long an application's personal data is kept (PIPL Art. 19), per kind; empty: forever.

    When a kind's time runs out, ``console.retention.run`` (beat) deletes the rows or pseudonymises
    the real numbers in them (a keyed hash: statistics, statements and settlement still add up).
    The kinds and the places of each are listed in docs/privacy.md.
    """

    application = models.OneToOneField(
        Application,
        on_delete=models.CASCADE,
        related_name="retention_policy",
        verbose_name=_("application"),
    )
    call_data_days = models.PositiveIntegerField(
        _("call events, CDRs and SMS texts (days)"),
        null=True,
        blank=True,
        help_text=_(
            "Events are deleted; CDRs and SMS records keep their figures, with their numbers "
            "pseudonymised and their texts emptied."
        ),
    )
    call_history_months = models.PositiveSmallIntegerField(
        _("whole call history (months)"),
        null=True,
        blank=True,
        # 0 would drop every month but the current one: a slip, never a policy.
        validators=[MinValueValidator(1)],
        help_text=_(
            "CDRs, call events and SMS records are removed a whole calendar month at a time once "
            "the month is this many months past; statements and hourly figures are kept. Only "
            "when every application has this set: the months are shared."
        ),
    )
    push_bodies_days = models.PositiveIntegerField(
        _("raw bodies of processed pushes (days)"),
        null=True,
        blank=True,
        help_text=_("Counted from processing; failed and held pushes are kept until fixed."),
    )
    recordings_days = models.PositiveIntegerField(
        _("stored recordings (days)"),
        null=True,
        blank=True,
        help_text=_("Counted from storing; the file is deleted from storage."),
    )
    ended_bindings_days = models.PositiveIntegerField(
        _("real numbers of ended bindings (days)"),
        null=True,
        blank=True,
        help_text=_("Counted from the end of the binding; the numbers are pseudonymised."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        permissions = [("erase_personal_data", _("Can erase one person's data everywhere"))]

    def __str__(self) -> str:
        return str(self.application)
