"""Webhook subscriptions, the events written to the outbox, their deliveries and attempts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import audit, webhooks
from console.admin.base import ConsoleModelAdmin, ReadOnlyAdmin
from console.choices import AuditAction
from console.models import WebhookAttempt, WebhookDelivery, WebhookMessage, WebhookSubscription
from console.paginators import LargeTablePaginator


class SubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        help_text=_(
            "whsec_… (Standard Webhooks). Empty on a new subscription: one is made and "
            "shown once. Never shown again; type a new one to replace it."
        ),
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["application", "url", "events", "real_numbers", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = sorted(webhooks.EVENTS.items())


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ConsoleModelAdmin):
    """Where each application's events go. A paused endpoint is resumed here."""

    form = SubscriptionForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["application", "url", "is_active", "failing_since", "paused_at"]
    list_filter = ["application", "is_active"]
    list_select_related = ["application"]
    readonly_fields = ["failing_since", "paused_at", "created_at"]
    actions = ["resume"]

    def save_model(self, request, obj: WebhookSubscription, form, change: bool) -> None:
        secret = form.cleaned_data.get("secret")
        if secret or not obj.secret_encrypted:
            shown = not secret
            secret = secret or webhooks.new_secret()
            obj.set_secret(secret)
            if shown:
                messages.warning(
                    request,
                    _("The signing secret is %(secret)s. Copy it now: it is never shown again.")
                    % {"secret": secret},
                )
        super().save_model(request, obj, form, change)
        audit.record(AuditAction.MODIFY if change else AuditAction.CREATE, obj, request=request)

    @admin.action(description=_("Resume the selected endpoints"), permissions=["change"])
    def resume(self, request, queryset) -> None:
        sent = sum(webhooks.resume(s, user=request.user, request=request) for s in queryset)
        self.message_user(
            request,
            ngettext(
                "%(n)d waiting delivery sent again.", "%(n)d waiting deliveries sent again.", sent
            )
            % {"n": sent},
        )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Every delivery and its attempts; "redeliver" sends one, or a filtered range, again."""

    list_display = [
        "created_at",
        "event",
        "subscription",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["state", "subscription", "message__event_type"]
    list_select_related = ["message", "subscription", "subscription__application"]
    search_fields = ["=message__msg_id"]
    inlines = [AttemptInline]
    actions = ["redeliver"]
    show_full_result_count = False
    paginator = LargeTablePaginator

    @admin.display(description=_("event"))
    def event(self, delivery: WebhookDelivery) -> str:
        return f"{delivery.message.event_type} {delivery.message.msg_id}"

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("console.change_webhookdelivery")

    @admin.action(description=_("Redeliver the selected deliveries"), permissions=["redeliver"])
    def redeliver(self, request, queryset) -> None:
        count = webhooks.redeliver(queryset, user=request.user, request=request)
        self.message_user(
            request,
            ngettext("%(n)d delivery sent again.", "%(n)d deliveries sent again.", count)
            % {"n": count},
        )


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin):
    """The outbox: every event written, newest first."""

    list_display = ["created_at", "event_type", "msg_id", "application"]
    list_filter = ["event_type", "application"]
    list_select_related = ["application"]
    search_fields = ["=msg_id"]
    show_full_result_count = False
    paginator = LargeTablePaginator
