"""The inbox of pushes the platform sent (``Delivery``), kept with their raw bodies."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.choices import (
    DeliveryKind,
    DeliveryState,
    HoldReason,
    HookEndpoint,
)
from console.models.applications import Application
from console.teams import ScopedManager


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
