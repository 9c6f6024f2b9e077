"""Applications: secrets never rendered back, platform calls resumed after a lock-out."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import audit, gateway
from console.admin.base import (
    ConsoleModelAdmin,
    https_url_fields,
)
from console.choices import AuditAction
from console.models import Application
from privatenumber import modes as platform_modes


class ApplicationForm(forms.ModelForm):
    """The secret is write-only: a password input that never shows the stored value."""

    app_secret = forms.CharField(
        label=_("APP_Secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep the current one."),
    )

    class Meta:
        model = Application
        fields = [
            "name",
            "mode",
            "app_key",
            "base_url",
            "status_url",
            "fee_url",
            "sms_url",
            "sms_control_url",
            "xstatus_url",
            "push_xstatus",
            "recording_enabled",
            "sms_enabled",
            "extension_length",
            "block_call_rule",
            "block_sms_rule",
            "callee_num_display",
            "is_active",
        ]
        formfield_callback = https_url_fields

    def clean(self):
        cleaned = super().clean()
        if not self.instance.has_secret and not cleaned.get("app_secret"):
            self.add_error("app_secret", _("An APP_Secret is required for a new application."))
        mode = cleaned.get("mode")
        extensions = bool(mode) and platform_modes.mode(mode).extensions  # AXE (spec §4)
        if extensions and not cleaned.get("extension_length"):
            self.add_error("extension_length", _("AXE applications need an extension length."))
        if mode and not extensions and cleaned.get("extension_length"):
            self.add_error("extension_length", _("Only AXE applications have extensions."))
        return cleaned

    def save(self, commit=True):
        if self.cleaned_data.get("app_secret"):
            self.instance.set_secret(self.cleaned_data["app_secret"])
        return super().save(commit=commit)


@admin.register(Application)
class ApplicationAdmin(ConsoleModelAdmin):
    form = ApplicationForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        "mode",
        "app_key",
        "base_url",
        "recording_enabled",
        "is_active",
        "platform_calls",
    ]
    list_filter = ["mode", "is_active"]
    search_fields = ["name", "app_key"]
    readonly_fields = [
        "secret_state",
        "receiver_urls",
        "platform_calls",
        "calls_paused_reason",
        "created_at",
        "updated_at",
    ]
    actions = ["resume_platform_calls"]
    fieldsets = [
        (None, {"fields": ["name", "mode", "app_key", "app_secret", "secret_state", "base_url"]}),
        (
            _("Push URLs"),
            {
                "fields": [
                    "receiver_urls",
                    "status_url",
                    "fee_url",
                    "sms_url",
                    "sms_control_url",
                    "xstatus_url",
                    "push_xstatus",
                ]
            },
        ),
        (
            _("Capabilities and rules"),
            {
                "fields": [
                    "recording_enabled",
                    "sms_enabled",
                    "extension_length",
                    "block_call_rule",
                    "block_sms_rule",
                    "callee_num_display",
                    "is_active",
                ]
            },
        ),
        (_("Platform calls"), {"fields": ["platform_calls", "calls_paused_reason"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("platform calls"))
    def platform_calls(self, obj: Application) -> str:
        if obj.calls_paused_at is None:
            return _("running")
        return _("paused since %(at)s") % {
            "at": formats.date_format(
                timezone.localtime(obj.calls_paused_at), "SHORT_DATETIME_FORMAT"
            )
        }

    def has_resume_permission(self, request) -> bool:
        return request.user.has_perm("console.change_application")

    @admin.action(
        description=_("Resume the platform calls of the selected applications"),
        permissions=["resume"],
    )
    def resume_platform_calls(self, request, queryset):
        resumed = [
            application
            for application in queryset.filter(calls_paused_at__isnull=False)
            if gateway.resume(application, request=request)
        ]
        if resumed:
            self.message_user(
                request,
                ngettext(
                    "Platform calls resumed for %(n)d application.",
                    "Platform calls resumed for %(n)d applications.",
                    len(resumed),
                )
                % {"n": len(resumed)},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("None of the selected applications was paused."), messages.WARNING
            )

    @admin.display(description=_("APP_Secret"))
    def secret_state(self, obj: Application) -> str:
        return _("set (hidden)") if obj.has_secret else _("not set")

    @admin.display(description=_("Console receiver URLs to configure on the platform"))
    def receiver_urls(self, obj: Application):
        labels = {
            "status_url": _("call status"),
            "fee_url": _("CDRs"),
            "sms_url": _("SMS notify / control"),
            "xstatus_url": _("X-number status"),
        }
        urls = Application.receiver_urls()
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{}: <code>{}</code></li>", ((labels[k], urls[k]) for k in labels)
            ),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Applications cannot be deleted on the platform either (spec §3); deactivate instead.
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = AuditAction.MODIFY if change else AuditAction.CREATE
        audit.record(action, obj, request=request, details={"fields": form.changed_data})
        if change and form.cleaned_data.get("app_secret"):
            audit.record(AuditAction.SECRET_REPLACED, obj, request=request)
