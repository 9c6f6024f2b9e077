"""Admin of applications (secrets never rendered back, platform calls resumed after a lock-out),
the read-only audit log, the inbox of pushes (failed ones listed, re-processed after a fix, held
ones released or discarded, bodies shown masked, raw bodies for administrators only), and the
alerts administrators acknowledge."""

from __future__ import annotations

import contextlib
import json

from axes import admin as axes_admin
from axes.models import AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import alerts, audit, gateway, inbox, privacy
from console.choices import AuditAction, DeliveryState
from console.models import Alert, Application, AuditLog, Delivery
from console.numbers import mask_text
from console.paginators import LargeTablePaginator


def https_url_fields(field, **kwargs):
    """Form fields for model fields; URLs typed without a scheme are taken as https."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class ConsoleModelAdmin(admin.ModelAdmin):
    """Every admin of the console: no query string probes a real number (``console.privacy``).

    Django's admin accepts a lookup on any field of the model in the query string
    (``?a_number__startswith=+86138``); on a masked field that is a yes/no oracle for its hidden
    digits. Only exact lookups of a real-number field pass, for every role. ``?reveal=1`` is read
    by ``console.privacy.numbers_for`` and then taken out of the query the changelist sees.
    """

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if not privacy.lookup_allowed(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def changelist_view(self, request, extra_context=None):
        privacy.without_reveal(request)
        return super().changelist_view(request, extra_context)


class ReadOnlyAdmin(ConsoleModelAdmin):
    """An admin that shows rows and never adds, changes or deletes one (records, logs, inboxes)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
        if mode == "AXE" and not cleaned.get("extension_length"):
            self.add_error("extension_length", _("AXE applications need an extension length."))
        if mode and mode != "AXE" and cleaned.get("extension_length"):
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


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Read-only: nobody edits or deletes the audit trail from the admin."""

    list_display = ["at", "username", "action", "target_type", "target_repr", "ip_address"]
    # A date filter, not ``date_hierarchy``: that lists the years and months present with a
    # SELECT DISTINCT over the whole log.
    list_filter = ["action", "target_type", "at"]
    search_fields = ["=username", "=target_id"]  # see get_search_results
    search_help_text = _("A user name, or the id of the object acted on.")
    list_select_related = ["target_type"]
    sortable_by = ["at"]  # only indexed columns: any other sort reads the whole log
    show_full_result_count = False
    paginator = LargeTablePaginator

    def get_search_results(self, request, queryset, search_term):
        """Exact user name (auditlog_user_recent) or object id, of any type.

        The object id is matched within each content type, so that the (target_type, target_id)
        index serves it: one probe per type rather than a scan of the log.
        """
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        types = ContentType.objects.values_list("pk", flat=True)
        condition = Q(username=term) | Q(target_type__in=list(types), target_id=term)
        return queryset.filter(condition), False


class DefaultedListFilter(admin.SimpleListFilter):
    """A list filter with a value chosen when none is: ``default`` is shown selected (there is no
    "All" of Django's own; a subclass offers one among its lookups if it wants)."""

    default = ""

    def choices(self, changelist):
        current = self.value() or self.default
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


class DeliveryStateFilter(DefaultedListFilter):
    """State, failed by default: the page an administrator comes for is what failed."""

    title = _("state")
    parameter_name = "state"
    ALL = "all"
    default = DeliveryState.FAILED

    def lookups(self, request, model_admin):
        return [*DeliveryState.choices, (self.ALL, _("All"))]

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == self.ALL:
            return queryset
        return queryset.filter(state=value)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The push inbox. Opens on the failed deliveries; re-processing is an audited action.

    Read-only: a delivery is what the platform sent. The raw body (real numbers) is never shown
    on the page; administrators holding ``download_delivery_body`` can download it.
    """

    list_display = [
        "received_at",
        "application",
        "endpoint",
        "kind",
        "state",
        "hold_reason",
        "items",
        "size",
        "attempts",
        "short_error",
    ]
    list_filter = [DeliveryStateFilter, "kind", "endpoint", "application"]
    search_fields = ["=digest"]
    list_select_related = ["application"]
    sortable_by = ["received_at"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["reprocess_selected", "release_selected", "discard_selected"]
    fields = [
        "received_at",
        "application",
        "endpoint",
        "kind",
        "state",
        "hold_reason",
        "signed_at",
        "nonce",
        "note",
        "error_field",
        "error_masked",
        "items",
        "size",
        "scheme",
        "digest",
        "attempts",
        "processed_at",
        "answer_masked",
        "masked_body",
        "body_link",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body")

    def get_search_results(self, request, queryset, search_term):
        """The body's SHA-256, matched exactly on its index (Django's ``=digest`` is
        case-insensitive: UPPER(digest) = …, which reads every row)."""
        term = (search_term or "").strip().lower()
        if not term:
            return queryset, False
        return queryset.filter(digest=term), False

    def has_reprocess_permission(self, request) -> bool:
        return request.user.has_perm("console.reprocess_delivery")

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("console.release_delivery")

    @admin.display(description=_("body (numbers masked)"))
    def masked_body(self, obj: Delivery):
        if obj.pk is None:
            return "—"
        raw = bytes(Delivery.objects.values_list("body", flat=True).get(pk=obj.pk))
        return format_html('<pre class="delivery-body">{}</pre>', masked(raw))

    @admin.display(description=_("error"))
    def short_error(self, obj: Delivery) -> str:
        error = mask_text(obj.error)
        return (error[:120] + "…") if len(error) > 120 else error

    @admin.display(description=_("error"))
    def error_masked(self, obj: Delivery) -> str:
        # An error may quote the value it refused: a real number (console.privacy).
        return mask_text(obj.error)

    @admin.display(description=_("answer sent"))
    def answer_masked(self, obj: Delivery) -> str:
        return mask_text(json.dumps(obj.answer, ensure_ascii=False)) if obj.answer else "–"

    @admin.display(description=_("raw body"))
    def body_link(self, obj: Delivery):
        if obj.pk is None:
            return "—"
        url = reverse("admin:console_delivery_body", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> ({})',
            url,
            _("download (administrators only)"),
            _("%(size)s bytes") % {"size": obj.size},
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/body/",
                self.admin_site.admin_view(self.download_body),
                name="console_delivery_body",
            ),
            *super().get_urls(),
        ]

    def download_body(self, request, pk: int):
        """The raw body as received; audited, since it carries real numbers (so it also takes the
        one permission that shows them, ``console.privacy``)."""
        user = request.user
        if not (
            user.has_perm("console.download_delivery_body") and privacy.may_see_real_numbers(user)
        ):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery, pk=pk)
        audit.record(
            AuditAction.DOWNLOAD, delivery, request=request, details={"what": "raw push body"}
        )
        response = HttpResponse(bytes(delivery.body), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="delivery-{delivery.pk}.json"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.action(description=_("Release the selected held pushes"), permissions=["release"])
    def release_selected(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.HELD).values_list("pk", flat=True))
        results = [inbox.release(pk, request=request) for pk in ids]
        done = sum(1 for result in results if result.ok)
        if done:
            self.message_user(
                request,
                ngettext("%(n)d held push released.", "%(n)d held pushes released.", done)
                % {"n": done},
                messages.SUCCESS,
            )
        for result in results:
            if not result.ok:
                self.message_user(
                    request,
                    _("Held push %(id)s could not be applied: %(error)s")
                    % {"id": result.delivery_id, "error": result.error},
                    messages.ERROR,
                )
        if not ids:
            self.message_user(request, _("None of the selected pushes is held."), messages.WARNING)

    @admin.action(description=_("Discard the selected held pushes"), permissions=["release"])
    def discard_selected(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.HELD).values_list("pk", flat=True))
        done = sum(1 for pk in ids if inbox.discard(pk, request=request))
        if done:
            self.message_user(
                request,
                ngettext("%(n)d held push discarded.", "%(n)d held pushes discarded.", done)
                % {"n": done},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("None of the selected pushes is held."), messages.WARNING)

    @admin.action(
        description=_("Re-process the selected failed deliveries"), permissions=["reprocess"]
    )
    def reprocess_selected(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.FAILED).values_list("pk", flat=True))
        results = [inbox.reprocess(pk, request=request) for pk in ids]
        done = sum(1 for result in results if result.ok)
        failed = [result for result in results if not result.ok]
        if done:
            self.message_user(
                request,
                ngettext("%(n)d delivery re-processed.", "%(n)d deliveries re-processed.", done)
                % {"n": done},
                messages.SUCCESS,
            )
        for result in failed:
            self.message_user(
                request,
                _("Delivery %(id)s failed again: %(error)s")
                % {"id": result.delivery_id, "error": result.error},
                messages.ERROR,
            )
        if not ids:
            self.message_user(
                request, _("None of the selected deliveries has failed."), messages.WARNING
            )


def masked(body: bytes) -> str:
    """A pushed body for the page: pretty JSON (or the text) with every phone number masked."""
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    return mask_text(text)


class AlertStateFilter(DefaultedListFilter):
    """Open alerts by default: the page an administrator comes for."""

    title = _("state")
    parameter_name = "state"
    OPEN, RESOLVED, ALL = "open", "resolved", "all"
    default = OPEN

    def lookups(self, request, model_admin):
        return [(self.OPEN, _("Open")), (self.RESOLVED, _("Resolved")), (self.ALL, _("All"))]

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == self.OPEN:
            return queryset.filter(resolved_at__isnull=True)
        if value == self.RESOLVED:
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts for number administrators: open ones first; acknowledging one is audited.

    Rows are written by ``console.alerts`` only; a person acknowledges (it stays open until what
    it is about is resolved).
    """

    list_display = [
        "last_seen_at",
        "kind",
        "application",
        "title_shown",
        "count",
        "opened_at",
        "acknowledged",
    ]
    list_filter = [AlertStateFilter, "kind", "application"]
    list_select_related = ["application", "acknowledged_by"]
    sortable_by = ["last_seen_at"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["acknowledge_selected"]
    fields = [
        "kind",
        "application",
        "title_shown",
        "detail_shown",
        "count",
        "opened_at",
        "last_seen_at",
        "acknowledged",
        "resolved_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("alert"))
    def title_shown(self, obj: Alert) -> str:
        return alerts.render(obj)[0]

    @admin.display(description=_("detail"))
    def detail_shown(self, obj: Alert) -> str:
        return alerts.render(obj)[1]

    @admin.display(description=_("acknowledged"))
    def acknowledged(self, obj: Alert) -> str:
        if obj.acknowledged_at is None:
            return "—"
        who = obj.acknowledged_by.get_username() if obj.acknowledged_by else "?"
        when = formats.date_format(timezone.localtime(obj.acknowledged_at), "SHORT_DATETIME_FORMAT")
        return f"{who}, {when}"

    def has_acknowledge_permission(self, request) -> bool:
        return request.user.has_perm("console.acknowledge_alert")

    @admin.action(description=_("Acknowledge the selected alerts"), permissions=["acknowledge"])
    def acknowledge_selected(self, request, queryset):
        done = alerts.acknowledge(queryset, user=request.user, request=request)
        self.message_user(
            request,
            ngettext("%(n)d alert acknowledged.", "%(n)d alerts acknowledged.", done) % {"n": done},
            messages.SUCCESS if done else messages.WARNING,
        )


# django-axes' sign-in log gains a row at every sign-in: its admin, as shipped, counts the whole
# table, lists the years present (date_hierarchy) and every path ever used (SELECT DISTINCT).
if admin.site.is_registered(AccessLog):

    class AccessLogAdmin(axes_admin.AccessLogAdmin):
        list_filter = ["attempt_time", "logout_time"]
        date_hierarchy = None
        show_full_result_count = False
        paginator = LargeTablePaginator

    admin.site.unregister(AccessLog)
    admin.site.register(AccessLog, AccessLogAdmin)
