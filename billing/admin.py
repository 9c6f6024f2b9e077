"""Admin of billing: tariffs (administrators), statements (read-only, with audited actions), SMS
records (read-only, real numbers masked), and entries that lead to the console pages of calls."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from billing import packages, services
from billing.choices import StatementState
from billing.models import CallRecord, NumberComplaint, Package, SmsRecord, Statement, Tariff
from console import audit, privacy
from console.admin import ConsoleModelAdmin, ReadOnlyAdmin
from console.choices import AuditAction
from console.confirm import confirm_admin_action, confirmed
from console.numbers import search_form
from console.paginators import LargeTablePaginator


@admin.register(Tariff)
class TariffAdmin(ConsoleModelAdmin):
    list_display = [
        "application",
        "valid_from",
        "price_to_a",
        "price_from_a",
        "price_abnormal",
        "monthly_rent_per_number",
    ]
    list_filter = ["application"]
    list_select_related = ["application"]
    ordering = ["application", "-valid_from"]  # the (application, valid_from) constraint's index
    show_full_result_count = False
    paginator = LargeTablePaginator

    def get_readonly_fields(self, request, obj=None):
        # A closed statement was billed with this tariff: changing it would rewrite that bill.
        if obj is not None and obj.statements.filter(state=StatementState.CLOSED).exists():
            return [field.name for field in Tariff._meta.fields if field.editable]
        return []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"fields": form.changed_data},
        )
        repriced = services.reprice_open_statements(obj.application, obj.valid_from)
        if repriced:
            self.message_user(
                request,
                ngettext(
                    "%(n)d open statement was recomputed with this tariff.",
                    "%(n)d open statements were recomputed with this tariff.",
                    repriced,
                )
                % {"n": repriced},
            )

    def delete_model(self, request, obj):
        audit.record(AuditAction.DELETE, obj, request=request)
        super().delete_model(request, obj)
        services.reprice_open_statements(obj.application, obj.valid_from)


@admin.register(Package)
class PackageAdmin(ConsoleModelAdmin):
    """Minute packages (套餐包): validity in Beijing time on whole hours, consumption order, what
    is left as of the last settled hour. A package a closed month drew on is read-only."""

    list_display = [
        "name",
        "application",
        "minutes",
        "left",
        "valid_from",
        "valid_until",
        "priority",
        "price",
    ]
    list_filter = ["application"]
    list_select_related = ["application"]
    ordering = ["application", "priority", "valid_until"]
    show_full_result_count = False
    paginator = LargeTablePaginator

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(used=Coalesce(Sum("draws__minutes"), 0))

    @admin.display(description=_("minutes left (settled hours)"))
    def left(self, obj: Package) -> int:
        return max(obj.minutes - getattr(obj, "used", 0), 0)

    def get_readonly_fields(self, request, obj=None):
        # A closed month drew on it: changing it would rewrite that month's statement.
        if obj is not None and packages.in_closed_month(obj):
            return [field.name for field in Package._meta.fields if field.editable]
        return []

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and packages.in_closed_month(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        before = Package.objects.filter(pk=obj.pk).values_list("valid_from", flat=True).first()
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"fields": form.changed_data},
        )
        packages.changed(obj, since=before)
        self.message_user(request, gettext("The hours of this package were settled again with it."))

    def delete_model(self, request, obj):
        audit.record(AuditAction.DELETE, obj, request=request)
        super().delete_model(request, obj)
        packages.changed(obj)

    def delete_queryset(self, request, queryset):
        for package in queryset:
            if packages.in_closed_month(package):
                raise PermissionDenied
            self.delete_model(request, package)


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    """Statements are computed, never typed: read-only, with recompute / check / close actions."""

    list_display = [
        "month",
        "application",
        "state",
        "calls",
        "minutes",
        "call_charges",
        "x_numbers",
        "number_rent",
        "total",
        "closed_at",
    ]
    list_filter = ["state", "application"]
    list_select_related = ["application"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["recompute_open", "check_against_cdrs", "close_now"]

    def has_close_permission(self, request) -> bool:
        return request.user.has_perm("billing.close_statement")

    @admin.action(description=_("Recompute the selected open statements"), permissions=["close"])
    def recompute_open(self, request, queryset):
        done = 0
        for statement in queryset.filter(state=StatementState.OPEN).select_related("application"):
            services.refresh_statement(statement.application, statement.month)
            audit.record(AuditAction.SYNC, statement, request=request, details={"recomputed": 1})
            done += 1
        self.message_user(
            request,
            ngettext("%(n)d statement recomputed.", "%(n)d statements recomputed.", done)
            % {"n": done},
        )

    @admin.action(description=_("Check the selected statements against their CDRs"))
    def check_against_cdrs(self, request, queryset):
        for statement in queryset.select_related("application", "tariff"):
            differences = services.recompute_differences(statement)
            if differences:
                text = "; ".join(f"{k}: {a} → {b}" for k, (a, b) in differences.items())
                self.message_user(
                    request,
                    _("%(statement)s differs from its CDRs: %(diff)s")
                    % {"statement": statement, "diff": text},
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request, _("%(statement)s matches its CDRs.") % {"statement": statement}
                )

    @admin.action(description=_("Close the selected statements now"), permissions=["close"])
    def close_now(self, request, queryset):
        if not confirmed(request):
            return confirm_admin_action(
                self,
                request,
                queryset,
                question=gettext(
                    "A closed statement is final: call records that arrive later and tariff "
                    "changes no longer change it."
                ),
                confirm_label=gettext("Yes, close these statements"),
            )
        done = 0
        for statement in queryset.filter(state=StatementState.OPEN).select_related("application"):
            if services.tariff_for(statement.application, statement.month) is None:
                self.message_user(
                    request,
                    gettext("%(statement)s has no tariff for its month: it stays open.")
                    % {"statement": statement},
                    messages.WARNING,
                )
                continue
            services.refresh_statement(statement.application, statement.month, close=True)
            audit.record(AuditAction.END, statement, request=request, details={"closed": 1})
            done += 1
        self.message_user(
            request,
            ngettext("%(n)d statement closed.", "%(n)d statements closed.", done) % {"n": done},
        )


def _number_column(field: str, label, numbers: privacy.Numbers):
    """A list column showing a real number as this page view may show it."""

    def column(obj) -> str:
        return numbers.show(getattr(obj, field))

    column.short_description = label  # type: ignore[attr-defined]
    return column


def _content_column(numbers: privacy.Numbers):
    """The SMS text, shown only on a page view that reveals numbers (it may carry some)."""

    def column(obj) -> str:
        return numbers.show_text(obj.content)

    column.short_description = _("content")  # type: ignore[attr-defined]
    return column


# The platform's two SMS modes (spec §6.4); stored as pushed, shown translated.
NOTIFICATION_MODES = {"Notify": _("Notify"), "Block": _("Block")}
# extInfo.extParas "direction" of SMS notices; 0 and 1 by analogy with the CDR's direction
# (privatenumber.unconfirmed.SMS_DIRECTIONS), 2 as the documented example says.
SMS_DIRECTIONS = {
    "0": _("B to A"),
    "1": _("A to B"),
    "2": _("abnormal (direction unknown)"),
}


class NotificationModeFilter(admin.SimpleListFilter):
    """Notify or Block: the platform's two modes (spec §6.4), listed without reading the table
    (Django's default filter of a plain CharField runs SELECT DISTINCT over all of it)."""

    title = _("mode")
    parameter_name = "notification_mode"

    def lookups(self, request, model_admin):
        return list(NOTIFICATION_MODES.items())

    def queryset(self, request, queryset):
        return queryset.filter(notification_mode=self.value()) if self.value() else queryset


@admin.register(SmsRecord)
class SmsRecordAdmin(ReadOnlyAdmin):
    """SMS notices, read-only, on the list page alone. Real numbers are masked and the text
    hidden unless an administrator asked to see them in full (``?reveal=1``, audited once per
    page view; decided per request: admins are shared)."""

    list_filter = [NotificationModeFilter, "decision", "application"]
    list_select_related = ["application"]
    list_display_links = None
    sortable_by = ["time_stamp"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    search_fields = ["sms_identifier"]  # shows the search box; get_search_results decides
    change_list_template = "admin/billing/smsrecord/change_list.html"

    def get_list_display(self, request):
        numbers = privacy.numbers_for(request)
        columns = [
            "time_stamp",
            "application",
            "mode",
            _number_column("calling", _("sender"), numbers),
            "virtual_number",
            # in context: the console catalog's "receiver" is a push receiver's address
            _number_column("called", pgettext_lazy("SMS", "receiver"), numbers),
            "send_result",
            "direction_shown",
            "decision",
            _number_column("forwarded_to", _("forwarded to"), numbers),
            "binding_link",
        ]
        if numbers.revealed:
            columns.append(_content_column(numbers))
        return columns

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "numbers": privacy.numbers_for(request)}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("mode"))
    def mode(self, obj: SmsRecord) -> str:
        return NOTIFICATION_MODES.get(obj.notification_mode, obj.notification_mode)

    @admin.display(description=_("direction"))
    def direction_shown(self, obj: SmsRecord) -> str:
        return SMS_DIRECTIONS.get(obj.direction, obj.direction or "—")

    @admin.display(description=_("binding"))
    def binding_link(self, obj: SmsRecord) -> str:
        """The binding the SMS went through (its subscriptionId is on the binding's page)."""
        if obj.binding_id is None:
            return "–"
        url = reverse("bindings:binding", args=[obj.binding_id])
        return format_html('<a href="{}">#{}</a>', url, obj.binding_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:billing_smsrecord_changelist"))

    def get_search_results(self, request, queryset, search_term):
        """Search by a number typed any way (exact, indexed) or by the SMS id."""
        term = search_term.strip()
        if not term:
            return queryset, False
        number = search_form(term)
        if number:
            return (
                queryset.filter(Q(calling=number) | Q(called=number) | Q(virtual_number=number)),
                False,
            )
        return queryset.filter(sms_identifier=term), False


@admin.register(CallRecord)
class CallRecordAdmin(ReadOnlyAdmin):
    """Calls are read in the console's calls pages; the admin only leads there."""

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("billing:calls"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = CallRecord.objects.filter(pk=object_id).only("application_id", "session_id")
        record = record.first()
        if record is None:
            return HttpResponseRedirect(reverse("billing:calls"))
        return HttpResponseRedirect(
            reverse("billing:call", args=[record.application_id, record.session_id])
        )


@admin.register(NumberComplaint)
class NumberComplaintAdmin(ConsoleModelAdmin):
    """Complaints about an X's calls, entered by administrators; the health guard counts them
    (``billing.health``) and rests an X past its application's threshold."""

    list_display = ["x", "received_at", "note", "created_by"]
    list_select_related = ["x", "created_by"]
    raw_id_fields = ["x"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"x": obj.x_id, "note": obj.note},
        )
