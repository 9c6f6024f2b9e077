"""Cross-cutting models: platform applications with their credentials, the audit log, the inbox
of pushes the platform sent (``Delivery``), the log of every request sent to it
(``PlatformCall``) and the alerts administrators must look at."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console import crypto
from console.choices import (
    AccessRequestState,
    AlertKind,
    ApiScope,
    AuditAction,
    BlockCallRule,
    BlockSmsRule,
    CalleeNumDisplay,
    DeliveryKind,
    DeliveryState,
    HoldReason,
    HookEndpoint,
    Mode,
    WebhookState,
)
from console.teams import ApplicationManager, ScopedManager

RECEIVER_PATHS = {
    "status_url": "/hooks/status",
    "fee_url": "/hooks/fee",
    "sms_url": "/hooks/sms",
    "sms_control_url": "/hooks/sms",
    "xstatus_url": "/hooks/xstatus",
}


class Application(models.Model):
    """An application (应用) on the platform: one mode, one APP_Key/APP_Secret pair, its URLs.

    The APP_Secret is stored encrypted (``console.crypto``) and is never rendered back: it can only
    be replaced. The callback URLs record what is configured on the platform's side; the console's
    own receiver URLs to paste there are :meth:`receiver_urls`.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    mode = models.CharField(_("mode"), max_length=4, choices=Mode.choices)
    app_key = models.CharField(
        _("APP_Key"),
        max_length=128,
        unique=True,
        validators=[RegexValidator(r"^[0-9A-Za-z_-]+$", _("Letters, digits, - and _ only."))],
    )
    app_secret_encrypted = models.TextField(_("APP_Secret (encrypted)"), editable=False)
    base_url = models.URLField(
        _("API base URL"),
        help_text=_(
            "The app access address of the application's page on the Huawei Cloud console, "
            "e.g. https://rtcpns.cn-north-1.myhuaweicloud.com"
        ),
    )
    status_url = models.URLField(_("call-status URL on the platform"), blank=True)
    fee_url = models.URLField(_("CDR URL on the platform"), blank=True)
    sms_url = models.URLField(_("SMS notify URL on the platform"), blank=True)
    sms_control_url = models.URLField(_("SMS control URL on the platform"), blank=True)
    xstatus_url = models.URLField(_("X-number status URL on the platform"), blank=True)
    push_xstatus = models.BooleanField(_("push X-number status"), default=True)
    recording_enabled = models.BooleanField(_("recording enabled"), default=False)
    sms_enabled = models.BooleanField(_("SMS enabled"), default=False)
    extension_length = models.PositiveSmallIntegerField(
        _("AXE extension length"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_("AXE only: 1 to 4 digits, fixed when the application was created."),
    )
    block_call_rule = models.CharField(
        _("X-mode call rule"),
        max_length=16,
        choices=BlockCallRule.choices,
        default=BlockCallRule.CONNECT_BOUND_PARTY,
    )
    block_sms_rule = models.CharField(
        _("SMS Block rule"),
        max_length=16,
        choices=BlockSmsRule.choices,
        default=BlockSmsRule.FORWARD,
    )
    callee_num_display = models.CharField(
        _("AX: number A sees"),
        max_length=1,
        choices=CalleeNumDisplay.choices,
        default=CalleeNumDisplay.X_NUMBER,
        help_text=_(
            "calleeNumDisplay of AX binds: what A sees when someone else calls X. Carrier rules "
            "require the X number."
        ),
    )
    calls_paused_at = models.DateTimeField(
        _("platform calls paused since"),
        null=True,
        blank=True,
        help_text=_(
            "Set when the platform locked the console out (1020176): nothing is sent for this "
            "application until an administrator resumes its platform calls."
        ),
    )
    calls_paused_reason = models.CharField(_("why paused"), max_length=256, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Kept by WebhookSubscription.save()/delete(): whether an active subscription exists, so the
    # hot paths that hold the application (the CDR ingest) skip their events without a query.
    webhooks_on = models.BooleanField(_("webhooks subscribed"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ApplicationManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"

    def set_secret(self, plain: str) -> None:
        """Replace the APP_Secret; only its encrypted form is kept."""
        self.app_secret_encrypted = crypto.encrypt(plain)

    def get_secret(self) -> str:
        return crypto.decrypt(self.app_secret_encrypted)

    @property
    def has_secret(self) -> bool:
        return bool(self.app_secret_encrypted)

    @property
    def calls_paused(self) -> bool:
        return self.calls_paused_at is not None

    @staticmethod
    def receiver_urls() -> dict[str, str]:
        """The console's own push receivers, to paste into the platform's application settings."""
        base = settings.CONSOLE_BASE_URL.rstrip("/")
        return {field: base + path for field, path in RECEIVER_PATHS.items()}


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


class AuditChainAnchor(models.Model):
    """The one row the audit log's hash chain starts from: the place and hash of the last row the
    audit retention deleted (0 and "" before any). The sealer locks it, so one seals at a time."""

    last_deleted_seq = models.BigIntegerField(default=0)
    last_deleted_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit chain anchor")

    def __str__(self) -> str:
        return f"audit chain from #{self.last_deleted_seq}"


class Delivery(models.Model):
    """One push the platform sent us, kept with its raw body: the webhook inbox.

    Written by ``console.inbox`` in the same transaction as the push's effects (CDRs, call events,
    SMS records, X-number statuses), so a row exists exactly when its effects do, or, for a push
    that could not be applied, with ``state`` failed and the reason. Failed rows are re-processed
    from the admin after a fix. ``digest`` (SHA-256 of the body) recognises the platform's
    retries: a second copy of a body already stored changes nothing. X-number status bodies carry
    no time or id, so the same body can legitimately come again later (a number goes into arrears
    twice); they are exempt from the uniqueness and applying them twice is harmless.

    The body carries real numbers: only administrators may see or download it.
    """

    PRIVATE_TEXT_FIELDS = ("body", "error", "answer")

    received_at = models.DateTimeField(_("received"), default=timezone.now)
    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    endpoint = models.CharField(_("receiver"), max_length=8, choices=HookEndpoint.choices)
    kind = models.CharField(
        _("kind"), max_length=10, choices=DeliveryKind.choices, blank=True, default=""
    )
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices)
    # db_default: the receiver's raw INSERT (console.inbox._insert) does not name these columns.
    hold_reason = models.CharField(
        _("why held"), max_length=10, choices=HoldReason.choices, blank=True, db_default=""
    )
    nonce = models.CharField(_("nonce"), max_length=128, blank=True, db_default="")
    signed_at = models.DateTimeField(_("signed at (Created)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, db_default="")
    error = models.TextField(_("error"), blank=True)
    error_field = models.CharField(_("field in error"), max_length=200, blank=True)
    scheme = models.CharField(_("signed with"), max_length=4, blank=True)
    body = models.BinaryField(_("raw body"))
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    digest = models.CharField(_("SHA-256 of the body"), max_length=64)
    items = models.PositiveIntegerField(_("items applied"), default=0)
    answer = models.JSONField(_("answer sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=1)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("push delivery")
        verbose_name_plural = _("push deliveries")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("reprocess_delivery", _("Can re-process a push delivery")),
            ("download_delivery_body", _("Can download the raw body of a push")),
            ("release_delivery", _("Can release or discard a held push")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "digest"],
                condition=~Q(kind=DeliveryKind.NUM_STATUS),
                name="delivery_unique_body",
            ),
        ]
        indexes = [
            models.Index(fields=["digest"], name="delivery_digest"),
            models.Index(fields=["-received_at", "-id"], name="delivery_recent"),
            models.Index(
                fields=["-received_at", "-id"],
                name="delivery_failed_recent",
                condition=Q(state=DeliveryState.FAILED),
            ),
            models.Index(
                fields=["application", "received_at"],
                name="delivery_held",
                condition=Q(state=DeliveryState.HELD),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.endpoint} {self.kind or '?'} {self.state}"


class Team(models.Model):
    """Staff who see only some applications (``console.teams``): the team's applications, its
    members. A user in several teams sees the applications of all of them; superusers see all."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    applications = models.ManyToManyField(
        Application, verbose_name=_("applications"), related_name="teams", blank=True
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("members"),
        related_name="console_teams",
        blank=True,
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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


class Alert(models.Model):
    """Something an administrator must look at, open until it is resolved.

    One open alert per ``kind`` + ``key`` (``key`` names the thing, e.g. ``application:7``):
    raising it again bumps ``count`` and ``last_seen_at`` instead of adding a row. ``title`` and
    ``detail`` are English message ids with ``%(name)s`` placeholders filled from ``params``,
    translated when shown (``console.alerts``). Written by ``console.alerts.raise_alert`` /
    ``resolve_alert`` only; people acknowledge. Issue 16 adds delivery by e-mail and webhook.
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


class PlatformCall(models.Model):
    """One request to the platform: what, when, its answer and how long it took.

    Written for every call the client makes (``privatenumber.client.CallLog``), success or not,
    by the logged gateway (``console.gateway.client_for``), so an administrator can read and
    filter the console's conversation with the platform. It moved here from the bindings app
    (issue 18) with its table, rows and permissions; ``binding`` names the binding a call was
    about, by Django's lazy reference, the one place the kernel's data points at a higher app.
    """

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="platform_calls",
        db_index=False,  # led by platformcall_app_recent
    )
    binding = models.ForeignKey(
        "bindings.Binding",
        verbose_name=_("binding"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="platform_calls",
        db_index=False,  # led by platformcall_binding
    )
    interface = models.CharField(_("interface"), max_length=48, db_index=True)
    method = models.CharField(_("method"), max_length=8)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    result_code = models.CharField(_("result code"), max_length=32, blank=True, db_index=True)
    result_desc = models.CharField(_("result"), max_length=256, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        db_table = "bindings_platformcall"  # kept from when it was a bindings model
        verbose_name = _("platform call")
        verbose_name_plural = _("platform calls")
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["application", "-at"], name="platformcall_app_recent"),
            models.Index(fields=["binding", "-at"], name="platformcall_binding"),
        ]

    def __str__(self) -> str:
        return f"{self.interface} {self.result_code or self.http_status} {self.latency_ms} ms"


class ApiKey(models.Model):
    """A key another system (an order system) uses to call the REST API (``/api/v1/``).

    Made by an administrator and shown once: only the SHA-256 of the token is kept, with its first
    characters (``prefix``) so a person can tell keys apart. It works for its ``applications`` and
    ``scopes`` (:class:`~console.choices.ApiScope`) only, until revoked. Every change made with it
    is audited under ``api:<name>``.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    applications = models.ManyToManyField(
        Application, verbose_name=_("applications"), related_name="api_keys"
    )
    scopes = models.JSONField(_("scopes"), default=list)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        null=True,
        blank=True,
        help_text=_("Empty: the default of the console (API_RATE_PER_MINUTE)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def scope_choices(self) -> list[str]:
        return [str(ApiScope(s).label) for s in self.scopes or [] if s in ApiScope.values]


class IdempotencyKey(models.Model):
    """A create request already made for an application: by its ``Idempotency-Key`` header
    (``kind`` ``header``) or by its order reference (``kind`` ``order_ref``).

    Inserted in the transaction that creates the object, under a unique constraint: a retried or
    concurrent duplicate request fails on the constraint (it waits for the first transaction on
    PostgreSQL) and answers the object the first one made. Nothing reads before it writes.
    """

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16)
    value = models.CharField(_("value"), max_length=255)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "value"], name="idempotency_key_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class WebhookSubscription(models.Model):
    """Where the events of one application are sent: a URL, the events wanted, a signing secret.

    The secret (Standard Webhooks, ``whsec_…``) is stored encrypted like the APP_Secret. An
    endpoint failing for ``WEBHOOK_PAUSE_AFTER_SECONDS`` is paused with an alert: its deliveries
    wait (nothing is dropped) until an administrator resumes it.
    """

    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("Empty: every event.")
    )
    secret_encrypted = models.TextField(_("secret (encrypted)"), editable=False)
    real_numbers = models.BooleanField(
        _("send real numbers"),
        default=False,
        help_text=_("Unticked: real numbers in the events are masked, as on the pages."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["application", "url"]

    def __str__(self) -> str:
        return f"{self.application.name} → {self.url}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self._mark_application()

    def delete(self, *args, **kwargs):
        done = super().delete(*args, **kwargs)
        self._mark_application()
        return done

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    def set_secret(self, plain: str) -> None:
        self.secret_encrypted = crypto.encrypt(plain)

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def _mark_application(self) -> None:
        """``Application.webhooks_on``: whether any active subscription of it is left."""
        Application.objects.filter(pk=self.application_id).update(
            webhooks_on=models.Exists(
                WebhookSubscription.objects.filter(
                    application_id=models.OuterRef("pk"), is_active=True
                )
            )
        )


class WebhookMessage(models.Model):
    """The outbox: one event, written in the transaction that made it true.

    ``msg_id`` is the event id a receiver sees (``webhook-id``): every delivery and retry of the
    event carries it, so a receiver keeps each event once.
    """

    PRIVATE_TEXT_FIELDS = ("payload",)

    msg_id = models.CharField(_("event id"), max_length=40, unique=True)
    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(_("event"), max_length=64)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookDelivery(models.Model):
    """One event to one subscription: sent by a task of its own, retried with backoff.

    ``lease_until`` is when the sweeper (``console.jobs``) sends it again: the next attempt's
    time, or the end of the lease of the attempt in flight.
    """

    message = models.ForeignKey(
        WebhookMessage, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=WebhookState.choices, default=WebhookState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "subscription"], name="webhook_delivery_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["lease_until"],
                name="webhook_delivery_due",
                condition=Q(state__in=["pending", "retrying"]),
            ),
            models.Index(fields=["subscription", "state"], name="webhook_delivery_sub"),
        ]

    def __str__(self) -> str:
        return f"{self.message} → {self.subscription.url}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: when, how long, what came back."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempt_rows",
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    response_body = models.CharField(_("response (start)"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
