"""Raw administrator access to X numbers; the bindings UI is not here.

Bindings, the pool's list and usage, imports, bulk uploads and reconciliations are console pages
(``bindings.views``). What remains is plain Django admin: adding or correcting one X number (the
platform call log is the kernel's, ``console.admin.platform_calls``). Big tables never run
``COUNT(*)`` (:class:`console.paginators.LargeTablePaginator`); real numbers are never probed by a
lookup (``console.admin.ConsoleModelAdmin``).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from bindings import cities
from bindings.cities import province_of
from bindings.filters import search_numbers
from bindings.models import (
    ANumberRegistration,
    ApplicationPolicy,
    BlacklistEntry,
    VoiceFile,
    XNumber,
)
from bindings.services import safeguards
from console import alerts, audit
from console.admin import ConsoleModelAdmin
from console.choices import AlertKind, AuditAction
from console.numbers import search_form
from console.paginators import LargeTablePaginator


@admin.register(XNumber)
class XNumberAdmin(ConsoleModelAdmin):
    """One X number added or corrected by hand (the pool's list is ``/bindings/numbers/``)."""

    list_display = [
        "number",
        "application",
        "city_name",
        "state",
        "platform_status",
        "binding_count",
        "y_binding_count",
    ]
    # No filter by city: Django's lists the cities present with SELECT DISTINCT over the pool;
    # the search box takes a city code instead.
    list_filter = ["application", "state", "platform_status"]
    list_select_related = ["application"]
    search_fields = ["number"]
    search_help_text = _("A number in any form, or a city code.")
    ordering = ["number"]  # its unique index; the model's (application, city, number) has none
    sortable_by = ["number"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    readonly_fields = [
        "province",
        "state",
        "platform_status",
        "platform_cause",
        "platform_status_at",
        "binding_count",
        "y_binding_count",
        "cooling_until",
        "resting_until",
        "rest_reason",
        "created_at",
        "updated_at",
    ]
    skip_admin_log = True
    actions = ["end_rest"]

    @admin.action(description=_("Put resting numbers back in the pool"))
    def end_rest(self, request, queryset):
        """The number-health guard rested them; an administrator brings them back early."""
        for number in queryset.filter(resting_until__isnull=False):
            XNumber.objects.filter(pk=number.pk).update(resting_until=None, rest_reason="")
            alerts.resolve_alert(AlertKind.X_RESTING, f"xnumber:{number.pk}")
            audit.record(AuditAction.MODIFY, number, request=request, details={"rest": "ended"})

    @admin.display(description=_("city"))
    def city_name(self, number: XNumber) -> str:
        name = cities.name_of(number.city_code) or number.province
        return f"{name} ({number.city_code})" if name else number.city_code

    def get_fields(self, request, obj=None):
        editable = ["number", "application", "city_code"] if obj is None else ["city_code"]
        return [*editable, *[f for f in self.readonly_fields if obj is not None]]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, *(["number", "application"] if obj else [])]

    def get_search_results(self, request, queryset, search_term):
        return search_numbers(queryset, search_term), False

    def save_model(self, request, obj, form, change):
        obj.province = province_of(obj.city_code)
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"fields": form.changed_data},
        )


def exact_number(queryset, term: str):
    """Rows of one whole number typed any way (a real number is never matched by a part)."""
    if not (term or "").strip():
        return queryset
    number = search_form(term)
    return queryset.filter(number=number) if number else queryset.none()


@admin.register(ApplicationPolicy)
class ApplicationPolicyAdmin(ConsoleModelAdmin):
    """Each application's A-number policy, health thresholds and forecast horizon."""

    list_display = [
        "application",
        "registration_policy",
        "max_short_call_ratio",
        "min_answer_rate",
        "rest_hours",
        "forecast_days",
    ]
    list_select_related = ["application"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"fields": form.changed_data},
        )


@admin.register(VoiceFile)
class VoiceFileAdmin(ConsoleModelAdmin):
    """The tone files Huawei approved (or not), entered by hand: it has no API for them."""

    list_display = ["name", "application", "purpose", "review_state", "is_default", "updated_at"]
    list_filter = ["application", "purpose", "review_state"]
    list_editable = ["review_state", "is_default"]
    list_select_related = ["application"]
    search_fields = ["name"]


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ConsoleModelAdmin):
    """Numbers never bound; every change leaves an audit row (``services.safeguards``)."""

    list_display = ["__str__", "application", "reason", "expires_at", "created_at"]
    list_filter = ["application"]
    list_select_related = ["application"]
    search_fields = ["number"]
    search_help_text = _("A whole number, in any form.")
    readonly_fields = ["created_by", "created_at"]
    actions = ["delete_audited"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletions go through the audited action
        return actions

    def get_search_results(self, request, queryset, search_term):
        return exact_number(queryset, search_term), False

    @admin.action(description=_("Remove from the blacklist"), permissions=["delete"])
    def delete_audited(self, request, queryset):
        safeguards.unblacklist(queryset, request=request)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        safeguards.record_change(
            AuditAction.MODIFY if change else AuditAction.CREATE, obj, request=request
        )

    def delete_model(self, request, obj):
        safeguards.record_change(AuditAction.DELETE, obj, request=request)
        super().delete_model(request, obj)


@admin.register(ANumberRegistration)
class ANumberRegistrationAdmin(ConsoleModelAdmin):
    """The register of A numbers (报备), editable; imported from CSV/XLSX on its console page."""

    list_display = ["__str__", "application", "state", "note", "updated_at"]
    list_filter = ["application", "state"]
    list_select_related = ["application"]
    search_fields = ["number"]
    search_help_text = _("A whole number, in any form.")

    def get_search_results(self, request, queryset, search_term):
        return exact_number(queryset, search_term), False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"state": obj.state},
        )
