"""Recordings of calls: one per recorded CDR, pulled from the platform before it deletes them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.teams import ScopedManager
from recordings.choices import OUTSTANDING_STATES, RecordingState
from recordings.storage import recordings_storage


class Recording(models.Model):
    """The recording of one call (the CDR it was announced in), and where it stands.

    Created by the ``cdrs_ingested`` receiver for every CDR with ``recordFlag`` 1. The platform
    keeps the file for 7 days from the CDR push (``deadline``); a worker claims the row (a
    conditional UPDATE that sets ``claim_token`` and a ``lease_until`` it renews while the file
    streams in), downloads and checks the file, stores it under a name without any phone number,
    and marks it ``stored`` only if it still holds the claim, so there is exactly one stored file
    per recording. ``staged_name`` is the name a claim is writing, so that the file of a worker
    that died between storing and marking can be removed by the next one.
    """

    call_record = models.OneToOneField(
        "billing.CallRecord",
        verbose_name=_("call"),
        on_delete=models.PROTECT,
        # No database constraint: billing_callrecord is partitioned on PostgreSQL, and a foreign
        # key can only name its whole key (id, started_at). The history retention removes a
        # month's recordings before it drops the month's CDRs (recordings.receivers).
        db_constraint=False,
        related_name="recording",
    )
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="recordings",
        db_index=False,  # led by the (application, call_started_at) index below
    )
    # Where the platform has it (CDR recordObjectName / recordDomain / recordBucketName, or the
    # direct recordFileDownloadUrl when the CDR has no domain).
    file_name = models.CharField(_("file name on the platform"), max_length=128, blank=True)
    record_domain = models.CharField(_("recording domain"), max_length=256, blank=True)
    bucket_name = models.CharField(_("recording bucket"), max_length=128, blank=True)
    download_url = models.TextField(_("direct download URL"), blank=True)

    call_started_at = models.DateTimeField(_("call started"))
    call_seconds = models.PositiveIntegerField(
        _("call length (s)"),
        null=True,
        blank=True,
        help_text=_("How long the recorded part of the call lasted according to the CDR."),
    )
    pushed_at = models.DateTimeField(_("CDR received"))
    deadline = models.DateTimeField(
        _("deadline"), help_text=_("The platform deletes the recording at this time.")
    )

    state = models.CharField(
        _("state"), max_length=16, choices=RecordingState.choices, default=RecordingState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error_code = models.CharField(_("last error code"), max_length=32, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    # The claim of the worker fetching it.
    claim_token = models.CharField(_("claim"), max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    staged_name = models.CharField(
        _("file being stored"), max_length=255, blank=True, editable=False
    )

    # The stored file.
    file = models.FileField(
        _("stored file"), storage=recordings_storage, max_length=255, blank=True, editable=False
    )
    size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    duration = models.FloatField(_("audio length (s)"), null=True, blank=True)
    audio_format = models.CharField(_("audio format"), max_length=64, blank=True)
    stored_at = models.DateTimeField(_("stored"), null=True, blank=True)
    alerted_at = models.DateTimeField(
        _("alert raised"),
        null=True,
        blank=True,
        help_text=_("When the alert that it might be lost was raised (once per recording)."),
    )
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        ordering = ["-call_started_at", "-id"]
        permissions = [
            ("play_recording", _("Can play recordings")),
            ("download_recording", _("Can download recordings")),
            ("monitor_recordings", _("Can see recordings at risk and their alerts")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="stored")
                | (~Q(file="") & ~Q(sha256="") & Q(size__isnull=False)),
                name="recording_stored_has_file",
            ),
        ]
        indexes = [
            # Beat: what is still wanted, earliest deadline first; alerts; the at-risk page.
            models.Index(
                fields=["deadline"],
                name="recording_outstanding",
                condition=Q(state__in=[str(state) for state in OUTSTANDING_STATES]),
            ),
            # Retention of the stored copies.
            models.Index(
                fields=["stored_at"], name="recording_stored", condition=Q(state="stored")
            ),
            # The list: newest calls first, alone or within one application or state.
            models.Index(fields=["-call_started_at", "-id"], name="recording_recent"),
            models.Index(fields=["application", "-call_started_at"], name="recording_app_recent"),
            models.Index(fields=["state", "-call_started_at"], name="recording_state_recent"),
            # The at-risk page's "lost in the last 7 days": expired ones only, a few.
            models.Index(
                fields=["-deadline", "-id"], name="recording_lost", condition=Q(state="expired")
            ),
        ]

    def __str__(self) -> str:
        # Audit rows and log lines carry this: never a phone number.
        return f"recording #{self.pk}"

    @property
    def playable(self) -> bool:
        return self.state == RecordingState.STORED and bool(self.file)

    @property
    def outstanding(self) -> bool:
        return self.state in OUTSTANDING_STATES

    @property
    def time_left(self):
        """Time until the deadline (negative once it has passed)."""
        return self.deadline - timezone.now()
