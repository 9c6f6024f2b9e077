"""Cross-cutting models: platform applications with their credentials, and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from console import crypto
from console.choices import AuditAction, BlockCallRule, BlockSmsRule, Mode

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
        help_text=_("APP接入地址, e.g. https://rtcpns.cn-north-1.myhuaweicloud.com"),
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
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

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

    @staticmethod
    def receiver_urls() -> dict[str, str]:
        """The console's own push receivers, to paste into the platform's application settings."""
        base = settings.CONSOLE_BASE_URL.rstrip("/")
        return {field: base + path for field, path in RECEIVER_PATHS.items()}


class AuditLog(models.Model):
    """Who did what to which binding, number, recording or application, when, from where.

    Rows are written by ``console.audit.record`` only; the admin shows them read-only.
    """

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
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

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]
        indexes = [models.Index(fields=["target_type", "target_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.target_repr}"
