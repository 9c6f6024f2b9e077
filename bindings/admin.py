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
from bindings.models import XNumber
from console import audit
from console.admin import ConsoleModelAdmin
from console.choices import AuditAction
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
        "created_at",
        "updated_at",
    ]
    skip_admin_log = True

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
