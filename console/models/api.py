"""API keys, idempotent creates, and webhooks out: subscriptions, outbox, deliveries, attempts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console import crypto
from console.choices import (
    ApiScope,
    WebhookState,
)
from console.models.applications import Application
from console.teams import ManyApplicationsManager, ScopedManager


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

    # A team sees the keys of its own applications only (console.teams).
    objects = ManyApplicationsManager()

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
    PostgreSQL) and answers the object the first one made, if it asked for the same thing
    (``fingerprint``). Nothing reads before it writes.
    """

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16)
    value = models.CharField(_("value"), max_length=255)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    # sha256 of the canonical JSON of the validated request: the same key sent with another body
    # is refused (422 ``idempotency_key_reused``), never answered with the first object. Empty on
    # rows made before it was kept: those replay whatever the body.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True, default="")
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
    time, or the end of the lease of the attempt in flight. ``claimed_until`` is the lease a
    worker set when it claimed the delivery to send it: while ``lease_until`` still equals it and
    has not run out, that worker is sending it and nobody else may claim it. Anything that sets
    another lease (the sweeper taking over, a redelivery, the next attempt) ends the claim.
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
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
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
