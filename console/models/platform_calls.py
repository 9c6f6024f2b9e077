"""The log of every request the console sent to the platform."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from console.models.applications import Application
from console.teams import ScopedManager


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
