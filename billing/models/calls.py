"""Call events, CDRs (话单) and SMS records, as the platform pushed them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.choices import (
    CallDirection,
    CallEventType,
    CallOutcome,
    SmsDecision,
)
from billing.models.base import delivery_field
from console.teams import ScopedManager


class CallEvent(models.Model):
    """One call event push (callin, callout, alerting, answer, disconnect; spec §6.1).

    A call's events and its CDR share ``session_id``; the events explain a failed call before its
    CDR arrives, and a call with events but no ``disconnect`` is still in progress.
    """

    # Real numbers (an X in these columns is shown in full by the pages that know it is one).
    REAL_NUMBER_FIELDS = ("caller", "called")

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="call_events",
    )
    session_id = models.CharField(_("session id"), max_length=256)
    event_type = models.CharField(_("event"), max_length=10, choices=CallEventType.choices)
    timestamp = models.DateTimeField(_("time"))
    caller = models.CharField(_("caller"), max_length=32, blank=True)
    called = models.CharField(_("called"), max_length=32, blank=True)
    subscription_id = models.CharField(_("subscriptionId"), max_length=64, blank=True)
    state_code = models.PositiveIntegerField(_("hang-up cause"), null=True, blank=True)
    state_desc = models.CharField(_("hang-up text"), max_length=128, blank=True)
    user_data = models.CharField(_("user data"), max_length=256, blank=True)
    notify_mode = models.CharField(_("notify mode"), max_length=8, blank=True)
    digit_info = models.CharField(_("digits entered"), max_length=32, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    delivery = delivery_field()

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["timestamp", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "session_id", "event_type", "timestamp"],
                name="callevent_natural_key",
            ),
        ]
        indexes = [
            models.Index(fields=["-timestamp"], name="callevent_recent"),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.timestamp)
        return f"{self.event_type} {self.session_id} {when:%Y-%m-%d %H:%M:%S}"


class CallRecord(models.Model):
    """One CDR (话单, spec §6.2), every field of it, linked to its binding by subscriptionId.

    The natural key ``cdr_key`` is the platform's ``icid`` when present, else ``session:`` and the
    ``sessionId`` (unique within the application); see ``docs/billing.md``. ``billable_minutes``
    is ceil((callEndTime − fwdAnswerTime) / 60 s), 0 when unanswered (spec §12) and 0 for a redial
    duplicate. ``started_at`` is the first time the CDR gives (callInTime, else the forwarding
    start, the end or the failure), so every record sorts and filters by one indexed column.
    """

    # The customers' numbers; bindNum, calleeNum and fwdDisplayNum are privacy numbers.
    REAL_NUMBER_FIELDS = ("caller_num", "fwd_dst_num")

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="call_records",
        db_index=False,  # led by the (application, started_at) index below
        # No constraint: its check ran once per CDR at commit (50 lookups and row locks of the
        # same application a push, a tenth of PostgreSQL's CPU for it; issue 19). A pushed CDR is
        # inserted with its push's Delivery, whose constraint to the same application is checked
        # in the same transaction: that one lock keeps the application from being deleted under
        # the push, and PROTECT keeps the ORM from deleting one that has CDRs.
        db_constraint=False,
    )
    binding = models.ForeignKey(
        "bindings.Binding",
        verbose_name=_("binding"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # bindings are never deleted; no per-row trigger on bulk ingest
        db_index=False,  # calls of a binding are found by subscription_id
        related_name="call_records",
    )
    delivery = delivery_field()
    cdr_key = models.CharField(_("record key"), max_length=300)

    # The CDR as pushed (appKey is the application above).
    direction = models.PositiveSmallIntegerField(_("direction"), choices=CallDirection.choices)
    sp_id = models.CharField(_("spId"), max_length=32)
    icid = models.CharField(_("icid"), max_length=64, blank=True)
    bind_num = models.CharField(_("X number"), max_length=32, blank=True)
    session_id = models.CharField(_("session id"), max_length=256)
    subscription_id = models.CharField(_("subscriptionId"), max_length=64, blank=True)
    caller_num = models.CharField(_("caller"), max_length=32)
    callee_num = models.CharField(_("number dialled"), max_length=32)
    fwd_display_num = models.CharField(_("displayed number"), max_length=32, blank=True)
    fwd_dst_num = models.CharField(_("forwarded to"), max_length=32, blank=True)
    call_in_time = models.DateTimeField(_("call in"), null=True, blank=True)
    fwd_start_time = models.DateTimeField(_("forwarding started"), null=True, blank=True)
    fwd_alerting_time = models.DateTimeField(_("ringing"), null=True, blank=True)
    fwd_answer_time = models.DateTimeField(_("answered"), null=True, blank=True)
    call_end_time = models.DateTimeField(_("ended"), null=True, blank=True)
    fwd_unasw_rsn = models.PositiveIntegerField(_("Q.850 cause"), null=True, blank=True)
    fail_time = models.DateTimeField(_("failed"), null=True, blank=True)
    ul_fail_reason = models.PositiveIntegerField(_("release point"), null=True, blank=True)
    sip_status_code = models.PositiveIntegerField(_("SIP status"), null=True, blank=True)
    call_out_unasw_rsn = models.PositiveIntegerField(
        _("Q.850 cause of call-out"), null=True, blank=True
    )
    record_flag = models.PositiveSmallIntegerField(_("recorded"), null=True, blank=True)
    record_start_time = models.DateTimeField(_("recording started"), null=True, blank=True)
    record_object_name = models.CharField(_("recording file"), max_length=128, blank=True)
    record_bucket_name = models.CharField(_("recording bucket"), max_length=128, blank=True)
    record_domain = models.CharField(_("recording domain"), max_length=256, blank=True)
    record_file_download_url = models.TextField(_("recording download URL"), blank=True)
    tts_play_times = models.PositiveIntegerField(_("TTS plays"), null=True, blank=True)
    tts_trans_duration = models.PositiveIntegerField(_("TTS seconds"), null=True, blank=True)
    mpty_id = models.CharField(_("multi-party id"), max_length=128, blank=True)
    service_type = models.CharField(_("service type"), max_length=32, blank=True)
    host_name = models.CharField(_("host"), max_length=128, blank=True)
    user_data = models.CharField(_("user data"), max_length=256, blank=True)
    extend_number = models.CharField(_("extension"), max_length=4, blank=True)

    # Ours.
    started_at = models.DateTimeField(_("started"))
    talk_seconds = models.PositiveIntegerField(_("talk time (s)"), default=0)
    billable_minutes = models.PositiveIntegerField(_("billable minutes"), default=0)
    outcome = models.CharField(_("outcome"), max_length=10, choices=CallOutcome.choices)
    redial_duplicate = models.BooleanField(
        _("redial duplicate"),
        default=False,
        help_text=_("Same binding, no call-in time: a duplicate the platform sends on a redial."),
    )
    no_binding = models.BooleanField(
        _("no binding"),
        default=False,
        help_text=_("No subscriptionId: caller and callee had no binding on X (cause 8014)."),
    )
    malformed_number = models.BooleanField(
        _("number not in global format"),
        default=False,
        help_text=_("A number is not +86…; stored as pushed."),
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("call record")
        verbose_name_plural = _("call records")
        ordering = ["-started_at", "-id"]
        permissions = [("stop_call", _("Can stop a call in progress"))]
        constraints = [
            # With started_at, the partition key (console.partitions): PostgreSQL requires it in
            # every unique constraint of a partitioned table. It is read off the CDR itself, so a
            # CDR pushed again has the same one and is still known.
            models.UniqueConstraint(
                fields=["cdr_key", "application", "started_at"], name="callrecord_natural_key"
            ),
        ]
        indexes = [
            # The calls list: newest first, alone or within one application / X / outcome.
            models.Index(fields=["-started_at", "-id"], name="callrecord_recent"),
            models.Index(
                fields=["application", "-started_at", "-id"], name="callrecord_app_recent"
            ),
            models.Index(fields=["bind_num", "-started_at"], name="callrecord_x_recent"),
            # Failures only: "answered" (most calls) is served by callrecord_recent.
            models.Index(
                fields=["outcome", "-started_at"],
                name="callrecord_failed_recent",
                condition=~Q(outcome="answered"),
            ),
            # The search: one (column, started_at) index per column a number or id can be in,
            # newest first, so each branch of the search's UNION ALL is read in order and merged
            # (billing.filters). calleeNum is the number dialled, i.e. bindNum (§6.2): no index.
            models.Index(fields=["caller_num", "-started_at"], name="callrecord_caller"),
            models.Index(fields=["fwd_display_num", "-started_at"], name="callrecord_display"),
            models.Index(fields=["fwd_dst_num", "-started_at"], name="callrecord_dst"),
            models.Index(
                fields=["subscription_id", "-started_at"],
                name="callrecord_subscription",
                condition=~Q(subscription_id=""),
            ),
            # A call's page (its events and CDR share the session id).
            models.Index(fields=["session_id"], name="callrecord_session"),
            # Hourly settlement: the billed calls of an application that ended in an hour
            # (billing.settlement); unbilled calls (most failures, redial duplicates) left out.
            models.Index(
                fields=["application", "call_end_time"],
                name="callrecord_billed_end",
                condition=Q(billable_minutes__gt=0),
            ),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.started_at)
        return f"{self.bind_num} {when:%Y-%m-%d %H:%M:%S} {self.outcome}"

    @property
    def answered(self) -> bool:
        return self.fwd_answer_time is not None

    @property
    def recorded(self) -> bool:
        return self.record_flag == 1


class SmsRecord(models.Model):
    """One SMS notice (spec §6.4), Notify or Block, with the console's decision for Block.

    ``send_result`` is the notice's ``sendResult`` as pushed (its value table is UNCONFIRMED, so
    it is kept, not interpreted); ``direction`` the ``direction`` of ``extInfo.extParas``
    ("2": abnormal, direction unknown).
    """

    REAL_NUMBER_FIELDS = ("calling", "called", "forwarded_to")
    PRIVATE_TEXT_FIELDS = ("content",)  # the message itself: no lookup at all

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="sms_records",
    )
    binding = models.ForeignKey(
        "bindings.Binding",
        verbose_name=_("binding"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sms_records",
    )
    sms_identifier = models.CharField(_("SMS id"), max_length=64)
    notification_mode = models.CharField(_("mode"), max_length=8)
    calling = models.CharField(_("sender"), max_length=32)
    called = models.CharField(_("receiver"), max_length=32, blank=True)
    virtual_number = models.CharField(_("X number"), max_length=32)
    event = models.CharField(_("event"), max_length=64)
    time_stamp = models.DateTimeField(_("time"))
    subscription_id = models.CharField(_("subscriptionId"), max_length=64, blank=True)
    content = models.TextField(_("content"), blank=True)
    send_result = models.PositiveIntegerField(_("send result"), null=True, blank=True)
    direction = models.CharField(_("direction"), max_length=8, blank=True, db_default="")
    decision = models.CharField(
        _("decision"), max_length=8, choices=SmsDecision.choices, blank=True, default=""
    )
    forwarded_to = models.CharField(_("forwarded to"), max_length=32, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    delivery = delivery_field()

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("SMS record")
        verbose_name_plural = _("SMS records")
        ordering = ["-time_stamp", "-id"]
        constraints = [
            # With time_stamp, the partition key (console.partitions), as the notice gives it.
            models.UniqueConstraint(
                fields=["application", "sms_identifier", "notification_mode", "time_stamp"],
                name="smsrecord_natural_key",
            ),
        ]
        indexes = [
            models.Index(fields=["-time_stamp", "-id"], name="smsrecord_recent"),
            models.Index(fields=["calling"], name="smsrecord_calling"),
            models.Index(fields=["called"], name="smsrecord_called"),
            models.Index(fields=["virtual_number"], name="smsrecord_x"),
        ]

    def __str__(self) -> str:
        return f"SMS {self.sms_identifier} {self.notification_mode}"
