"""Call events, CDRs (话单), SMS records, tariffs, monthly statements and the dashboard's rollup.

All times are stored in UTC (the platform's strings are UTC, spec §1.3). Numbers are stored as the
platform pushed them (global format, ``+86…``); pages mask real numbers unless the viewer may see
them. Money is ``Decimal`` with two places (fen), never float.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.choices import (
    CallDirection,
    CallEventType,
    CallOutcome,
    DifferenceKind,
    ReconciliationState,
    SmsDecision,
    StatementState,
)
from console.teams import ScopedManager

MONEY = {"max_digits": 14, "decimal_places": 2}
PRICE = {"max_digits": 10, "decimal_places": 2, "validators": [MinValueValidator(0)]}


def delivery_field() -> models.ForeignKey:
    """The push (``console.Delivery``) a row came from.

    No constraint and no index: the inbox may be purged one day without touching millions of rows
    here, and nothing looks rows up by their push.
    """
    return models.ForeignKey(
        "console.Delivery",
        verbose_name=_("push"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


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
            models.UniqueConstraint(
                fields=["cdr_key", "application"], name="callrecord_natural_key"
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
            models.UniqueConstraint(
                fields=["application", "sms_identifier", "notification_mode"],
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


class NumberHealth(models.Model):
    """One X number's rolling figures, from its own CDRs and the complaints entered about it
    (issue 16), as ``billing.health.assess`` last computed them.

    Calls are counted since ``judged_since`` (the end of its last rest, so that the calls that
    earned it a rest do not earn it another) within the application's window. ``daily`` holds
    one ``[day, calls, answered, short]`` per day of the window: the trend on the worst-numbers
    page. ``score`` orders that page: the furthest any figure is past its threshold.
    """

    x = models.OneToOneField(
        "bindings.XNumber",
        verbose_name=_("X number"),
        on_delete=models.CASCADE,
        related_name="health",
    )
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    calls = models.PositiveIntegerField(_("calls"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    short_calls = models.PositiveIntegerField(_("short calls"), default=0)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)
    calls_per_day = models.FloatField(_("calls per day"), default=0)
    answer_rate = models.FloatField(_("answer rate"), null=True, blank=True)
    short_call_ratio = models.FloatField(_("short-call ratio"), null=True, blank=True)
    unanswered_ratio = models.FloatField(_("unanswered ratio"), null=True, blank=True)
    daily = models.JSONField(_("trend"), default=list, blank=True)
    score = models.FloatField(_("score"), default=0, db_index=True)
    judged_since = models.DateTimeField(_("judged since"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("number health")
        verbose_name_plural = _("number health")
        ordering = ["-score", "x"]

    def __str__(self) -> str:
        return str(self.x_id)


class NumberComplaint(models.Model):
    """A complaint about calls from one X, entered by an administrator (Huawei may suspend a
    service whose complaint rate passes 0.05 % and blacklists an X after complaints)."""

    x = models.ForeignKey(
        "bindings.XNumber",
        verbose_name=_("X number"),
        on_delete=models.CASCADE,
        related_name="complaints",
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["x", "received_at"], name="numbercomplaint_x")]

    def __str__(self) -> str:
        return f"{self.x_id} {self.received_at:%Y-%m-%d}"
