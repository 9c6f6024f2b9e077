"""X-number pools, bindings of every mode, and the log of every call made to the platform."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bindings.choices import (
    AreaMatchMode,
    BindingStatus,
    BulkJobStatus,
    CallDirection,
    EndReason,
    NumberImportState,
    NumberState,
    PlatformNumberStatus,
)
from console.choices import Mode
from console.numbers import mask
from console.teams import ScopedManager


class XNumber(models.Model):
    """A privacy number (X, or Y in AXYB) owned by one application, in one city.

    ``platform_status`` mirrors what the platform pushes (spec §6.3); ``state`` is our own pool
    state. ``binding_count`` is the number of live bindings on it, kept by the binding services
    with row locks / ``F()`` updates so that it stays right under concurrency.
    """

    number = models.CharField(_("number"), max_length=32, unique=True)
    # No single-column indexes on application and city: the choice indexes lead with them, and
    # every index here is written again each time a binding is counted on or off a number.
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="numbers",
        db_index=False,
    )
    city_code = models.CharField(_("city code"), max_length=8)
    province = models.CharField(_("province"), max_length=32, blank=True)
    platform_status = models.CharField(
        _("platform status"),
        max_length=2,
        choices=PlatformNumberStatus.choices,
        default=PlatformNumberStatus.NORMAL,
    )
    platform_cause = models.CharField(_("platform cause"), max_length=4, blank=True)
    platform_status_at = models.DateTimeField(_("platform status since"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=NumberState.choices, default=NumberState.AVAILABLE
    )
    cooling_until = models.DateTimeField(_("cooling down until"), null=True, blank=True)
    binding_count = models.PositiveIntegerField(_("live bindings"), default=0)
    # AXYB: relations in which this number is Y (at most 1000, spec §4); kept like binding_count.
    y_binding_count = models.PositiveIntegerField(_("live relations as Y"), default=0)
    # AXE: what the platform itself counts (QueryAXEBindingCount), when it was last asked.
    platform_binding_count = models.PositiveIntegerField(
        _("AXE bindings on the platform"), null=True, blank=True
    )
    platform_counted_at = models.DateTimeField(_("counted on the platform"), null=True, blank=True)
    # The number-health guard (billing.health) rests an X whose figures passed a threshold: it is
    # not chosen for new bindings until then (bindings.pool.usable), or until put back by hand.
    resting_until = models.DateTimeField(_("resting until"), null=True, blank=True)
    rest_reason = models.CharField(_("why it rests"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("X number")
        verbose_name_plural = _("X numbers")
        ordering = ["application", "city_code", "number"]
        indexes = [
            # Choosing X: pool of one application and city, least loaded first.
            models.Index(
                fields=["application", "city_code", "binding_count"],
                name="xnumber_choice",
                condition=Q(platform_status="5") & ~Q(state__in=["retired"]),
            ),
            # Loose matching: the same province, then any number of the application.
            models.Index(
                fields=["application", "province", "binding_count"],
                name="xnumber_choice_province",
                condition=Q(platform_status="5") & ~Q(state__in=["retired"]),
            ),
            models.Index(
                fields=["application", "binding_count"],
                name="xnumber_choice_any",
                condition=Q(platform_status="5") & ~Q(state__in=["retired"]),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Binding(models.Model):
    """A binding of any mode (AXB, AX, AXE, AXYB) between real numbers and a privacy number.

    Numbers are stored in E.164 and shown masked to staff (``__str__`` is masked too, so audit rows
    and log lines never carry a full real number). The platform's ``subscriptionId`` is stored as
    soon as the bind succeeds; ``expires_at`` is computed from ``duration``.
    """

    # Customers' own numbers: masked, never probed by a lookup (console.privacy).
    REAL_NUMBER_FIELDS = ("a_number", "b_number", "temporary_callee", "callback_num")

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="bindings",
        # Led by the (application, subscription_id) constraint's index; a separate index would
        # only slow down every write of this large table.
        db_index=False,
    )
    mode = models.CharField(_("mode"), max_length=4, choices=Mode.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=BindingStatus.choices, default=BindingStatus.PENDING
    )
    order_ref = models.CharField(_("order reference"), max_length=64, blank=True)
    # The console's own label for cost allocation (billing.allocation); never sent to the platform.
    cost_tag = models.CharField(
        _("cost tag"),
        max_length=64,
        blank=True,
        db_default="",
        help_text=_("Groups this binding's calls in the cost allocation (e.g. a business line)."),
    )
    # NULL until the platform answers: the unique constraint must not collide on "no id yet".
    subscription_id = models.CharField(  # noqa: DJ001
        _("subscriptionId"), max_length=64, null=True, blank=True
    )

    # Parties. A: caller/origNum/bindNum/numA; B: callee/numB; X and Y: privacy numbers.
    a_number = models.CharField(_("A number"), max_length=32)
    b_number = models.CharField(_("B number"), max_length=32, blank=True)
    x_number = models.CharField(_("X number"), max_length=32, blank=True)
    y_number = models.CharField(_("Y number"), max_length=32, blank=True)
    extension = models.CharField(_("extension E"), max_length=4, blank=True)
    x = models.ForeignKey(
        XNumber,
        verbose_name=_("X"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bindings_as_x",
    )
    y = models.ForeignKey(
        XNumber,
        verbose_name=_("Y"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bindings_as_y",
        db_index=False,  # partial index binding_y_id: only AXYB rows have a Y
    )
    area_code = models.CharField(_("city code wanted"), max_length=8, blank=True)
    area_match_mode = models.CharField(
        _("city matching"),
        max_length=1,
        choices=AreaMatchMode.choices,
        default=AreaMatchMode.STRICT,
    )

    # Lifetime.
    duration = models.PositiveIntegerField(
        _("duration (s)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(7776000)],
        help_text=_("Seconds from a successful bind; empty or 0 means it never expires."),
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    yb_duration = models.PositiveIntegerField(_("YB duration (s)"), null=True, blank=True)

    # Call behaviour.
    call_direction = models.PositiveSmallIntegerField(
        _("call direction"), choices=CallDirection.choices, default=CallDirection.BOTH
    )
    max_duration = models.PositiveSmallIntegerField(
        _("max call minutes"), default=0, validators=[MaxValueValidator(1440)]
    )
    last_min_voice = models.CharField(_("last-minute tone"), max_length=128, blank=True)
    record_flag = models.BooleanField(_("record calls"), default=False)
    record_hint_tone = models.CharField(_("recording notice tone"), max_length=128, blank=True)
    caller_hint_tone = models.CharField(_("caller waiting tone"), max_length=128, blank=True)
    callee_hint_tone = models.CharField(_("callee waiting tone"), max_length=128, blank=True)
    private_sms = models.BooleanField(_("private SMS"), default=True)
    user_data = models.CharField(_("user data"), max_length=256, blank=True)

    # AX: the temporary callee A reaches when dialling X.
    temporary_callee = models.CharField(_("temporary callee"), max_length=32, blank=True)
    temporary_callee_expires_at = models.DateTimeField(
        _("temporary callee until"), null=True, blank=True
    )
    # AXE: what A reaches when no callback record exists, and record lifetimes.
    display_num_mode = models.CharField(_("display to A"), max_length=1, blank=True)
    callback_num = models.CharField(_("callback number"), max_length=32, blank=True)
    callback_tone = models.CharField(_("callback tone"), max_length=128, blank=True)
    callback_expired_time = models.PositiveIntegerField(
        _("callback record lifetime"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    # AXYB: the second bind step (Y–B) has its own id; YB may end before AX (ybDuration).
    yb_subscription_id = models.CharField(  # noqa: DJ001
        _("YB subscriptionId"), max_length=64, null=True, blank=True
    )
    yb_expires_at = models.DateTimeField(_("YB expires"), null=True, blank=True)
    yb_ended_at = models.DateTimeField(_("YB ended"), null=True, blank=True)

    # The platform's last word on this binding.
    last_result_code = models.CharField(_("last result code"), max_length=32, blank=True)
    last_result_desc = models.CharField(_("last result"), max_length=256, blank=True)
    # Bind requests sent so far: from the second on, the platform is asked first whether an
    # earlier one landed (its answer may have been lost), so a binding is never made twice.
    bind_attempts = models.PositiveSmallIntegerField(_("bind attempts"), default=0)
    # When the last bind request went out, until its answer (any answer) came back: while it may
    # still be on its way, a second run of the bind (a message delivered again, or sent again by
    # the sweeper) sends nothing, since asking the platform cannot see a request in flight.
    bind_sent_at = models.DateTimeField(
        _("bind request on its way since"), null=True, blank=True, editable=False
    )
    # Modifications accepted from a person and not yet confirmed by the platform.
    pending_changes = models.JSONField(_("changes waiting for the platform"), default=dict)
    end_reason = models.CharField(
        _("end reason"), max_length=16, choices=EndReason.choices, blank=True
    )
    note = models.CharField(_("note"), max_length=256, blank=True)
    bulk_job = models.ForeignKey(
        "bindings.BulkJob",
        verbose_name=_("bulk upload"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bindings",
        db_index=False,  # led by the (bulk_job, bulk_row) constraint's index
    )
    bulk_row = models.PositiveIntegerField(_("row of the upload"), null=True, blank=True)
    # Set while a worker has something to do for it (bind, changes, unbind): past it, the
    # sweeper sends the task again (console.jobs). Null when nothing waits.
    lease_until = models.DateTimeField(_("worker lease until"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # nobody searches by it; users are deactivated, not deleted
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    bound_at = models.DateTimeField(_("bound"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("binding")
        verbose_name_plural = _("bindings")
        ordering = ["-created_at"]
        permissions = [("end_binding", _("Can end bindings"))]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "subscription_id"],
                condition=Q(subscription_id__isnull=False),
                name="binding_unique_subscription",
            ),
            # A bulk upload that runs twice (a redelivered task) never creates a row twice.
            models.UniqueConstraint(
                fields=["bulk_job", "bulk_row"],
                condition=Q(bulk_job__isnull=False),
                name="binding_unique_bulk_row",
            ),
        ]
        indexes = [
            models.Index(fields=["a_number"], name="binding_a"),
            models.Index(fields=["b_number"], name="binding_b"),
            models.Index(fields=["x_number"], name="binding_x"),
            # Partial: most rows have no Y and no order reference, and need no entry.
            models.Index(fields=["y_number"], name="binding_y_number", condition=~Q(y_number="")),
            models.Index(fields=["y"], name="binding_y_id", condition=Q(y__isnull=False)),
            models.Index(
                fields=["order_ref"], name="binding_order_ref", condition=~Q(order_ref="")
            ),
            models.Index(fields=["subscription_id"], name="binding_subscription"),
            models.Index(
                fields=["expires_at"],
                name="binding_due",
                condition=Q(status="active", expires_at__isnull=False),
            ),
            # The lists are ordered by -id (newest first), per status when filtered.
            models.Index(fields=["status", "-id"], name="binding_status_newest"),
            models.Index(
                fields=["yb_expires_at"],
                name="binding_yb_due",
                condition=Q(status="active", yb_expires_at__isnull=False, yb_ended_at__isnull=True),
            ),
            # The sweeper: the few bindings a worker has something to do for.
            models.Index(
                fields=["lease_until"],
                name="binding_leased",
                condition=Q(lease_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        parties = " ↔ ".join(mask(n) for n in (self.a_number, self.b_number) if n)
        via = f" via {self.x_number}" if self.x_number else ""
        return f"{self.mode} #{self.pk} {parties}{via}"

    def get_absolute_url(self) -> str:
        return reverse("bindings:binding", args=[self.pk])


class BulkJob(models.Model):
    """A CSV of bindings to create, worked through by a Celery task that reports its progress.

    The rows are kept in ``source`` so that the task can resume where it stopped; each binding
    it creates carries ``bulk_job`` and ``bulk_row``, unique together, so no row is created twice.
    """

    PRIVATE_TEXT_FIELDS = ("source", "errors")  # the uploaded rows: real numbers

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED
    )
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    source = models.TextField(_("rows (CSV)"))
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("bindings created"), default=0)
    failed = models.PositiveIntegerField(_("rows refused"), default=0)
    errors = models.JSONField(_("refusals"), default=list, blank=True)
    # The uploader's language: the worker writes the refusals in it, as an import's.
    language = models.CharField(_("language"), max_length=16, blank=True)
    # While queued or running: renewed as rows are processed; past it, the sweeper resumes it.
    lease_until = models.DateTimeField(_("worker lease until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("bulk upload")
        verbose_name_plural = _("bulk uploads")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name} ({self.processed}/{self.total})"


class Reconciliation(models.Model):
    """One comparison of the console's bindings with the platform's, and what it repaired.

    ``lost`` bindings (active here, unknown there) were ended with a note; ``unknown`` ones (on the
    platform, not here) are only reported, in ``details`` with masked numbers.
    """

    PRIVATE_TEXT_FIELDS = ("details",)

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    numbers_checked = models.PositiveIntegerField(_("numbers checked"), default=0)
    platform_bindings = models.PositiveIntegerField(_("bindings on the platform"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    lost = models.PositiveIntegerField(_("lost (ended here)"), default=0)
    unknown = models.PositiveIntegerField(_("unknown (only on the platform)"), default=0)
    failures = models.PositiveIntegerField(_("numbers that could not be queried"), default=0)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Until finished: renewed as numbers are checked; past it, the sweeper runs it again.
    lease_until = models.DateTimeField(_("worker lease until"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["-started_at", "-id"], name="reconciliation_recent")]

    def __str__(self) -> str:
        # In Shanghai time, as its fields are shown (stored in UTC).
        return f"{self.application} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"


class NumberImport(models.Model):
    """An uploaded CSV/XLSX of X numbers: validated by a task, previewed, imported on confirm.

    The file itself is kept in ``source`` (the database, not the web machine's disk) so that a
    worker on another machine reads exactly what was uploaded, until the import is done; then it
    is emptied (a failed import keeps it, to see why). ``errors`` holds the refused rows
    of the last pass (validation, then the import), at most ``ERRORS_KEPT`` of them; the counts are
    exact. ``language`` is the uploader's, so that the reasons are written in it.
    """

    ERRORS_KEPT = 1000

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    file_format = models.CharField(_("format"), max_length=8)
    source = models.BinaryField(_("file content"))
    language = models.CharField(_("language"), max_length=16, blank=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=NumberImportState.choices,
        default=NumberImportState.QUEUED,
    )
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    new_count = models.PositiveIntegerField(_("new numbers"), default=0)
    refused_count = models.PositiveIntegerField(_("rows refused"), default=0)
    imported_count = models.PositiveIntegerField(_("numbers imported"), default=0)
    errors = models.JSONField(_("refused rows"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    # While queued, validating or importing; past it, the sweeper sends the pass again.
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
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("X-number import")
        verbose_name_plural = _("X-number imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"


# The catalog of tone files, the blacklist, the A-number register and each application's policy
# (issue 16) live in their own module; imported here so that Django registers them.
from bindings.safeguard_models import (  # noqa: E402
    ANumberRegistration,
    ApplicationPolicy,
    BlacklistEntry,
    PoolUsageDay,
    VoiceFile,
    XStatusChange,
)

__all__ = [
    "ANumberRegistration",
    "ApplicationPolicy",
    "Binding",
    "BlacklistEntry",
    "BulkJob",
    "NumberImport",
    "PoolUsageDay",
    "Reconciliation",
    "VoiceFile",
    "XNumber",
    "XStatusChange",
]
