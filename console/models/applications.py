"""Platform applications with their credentials, and the teams that see them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from console import crypto
from console.choices import (
    BlockCallRule,
    BlockSmsRule,
    CalleeNumDisplay,
    Mode,
)
from console.teams import ApplicationManager

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
