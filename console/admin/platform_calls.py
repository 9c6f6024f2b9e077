"""Every request the console made to the platform (``PlatformCall``), for administrators,
read-only, filtered without ever counting or listing the whole table."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from console import gateway
from console.admin.base import ReadOnlyAdmin
from console.models import PlatformCall
from console.paginators import LargeTablePaginator
from privatenumber import modes as platform_modes


def _meaning(code: str) -> str:
    return gateway.result_meaning(code, get_language() or "zh-hans")


# The client's interface names, from the platform's mode table: a fixed list, so that the filter
# never runs SELECT DISTINCT over millions of rows as Django's default filter of a CharField would.
INTERFACES = tuple(
    dict.fromkeys(
        interface.name for mode in platform_modes.MODES.values() for interface in mode.interfaces
    )
)
# Codes the client gives failures without a platform result code (privatenumber.errors).
NO_ANSWER_CODES = ("TIMEOUT", "CONNECTION", "BAD_RESPONSE")


class InterfaceFilter(admin.SimpleListFilter):
    title = _("interface")
    parameter_name = "interface"

    def lookups(self, request, model_admin):
        return [(name, name) for name in INTERFACES]

    def queryset(self, request, queryset):
        return queryset.filter(interface=self.value()) if self.value() else queryset


class OutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [
            ("ok", _("Success")),
            ("refused", _("Refused by the platform")),
            ("no_answer", _("No usable answer (timeout, connection, HTTP error)")),
        ]

    def queryset(self, request, queryset):
        no_answer = Q(result_code__in=NO_ANSWER_CODES) | Q(result_code__startswith="HTTP")
        if self.value() == "ok":
            return queryset.filter(Q(result_code="0") | Q(result_code="", http_status=301))
        if self.value() == "refused":
            # The platform's codes are numeric and ours capitals (privatenumber.errors): a code
            # that starts with a digit, other than "0", is a refusal. As a range, digits sorting
            # before capitals in every collation, so the result_code index reads only those.
            return queryset.filter(result_code__gt="0", result_code__lt="A")
        if self.value() == "no_answer":
            return queryset.filter(no_answer)
        return queryset


@admin.register(PlatformCall)
class PlatformCallAdmin(ReadOnlyAdmin):
    """Every request the console made to the platform: what, when, the answer, how long."""

    list_display = [
        "at",
        "application",
        "interface",
        "method",
        "http_status",
        "result_code",
        "meaning",
        "latency_ms",
        "binding_link",
    ]
    list_filter = [OutcomeFilter, InterfaceFilter, "application", "at"]
    list_select_related = ["application"]
    search_fields = ["result_code"]
    search_help_text = _("A result code (e.g. 1012010), or a binding's id.")
    ordering = ["-at"]
    sortable_by = ["at"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    fields = [
        "at",
        "application",
        "binding_link",
        "interface",
        "method",
        "http_status",
        "result_code",
        "meaning",
        "result_desc",
        "latency_ms",
        "error",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        condition = Q(result_code=term)
        if term.isdigit() and len(term) < 7:
            condition |= Q(binding_id=int(term))
        return queryset.filter(condition), False

    @admin.display(description=_("meaning"))
    def meaning(self, obj: PlatformCall) -> str:
        return _meaning(obj.result_code) if obj.result_code else "–"

    @admin.display(description=_("binding"), ordering="binding")
    def binding_link(self, obj: PlatformCall) -> str:
        if obj.binding_id is None:
            return "–"
        # The binding's own page, asked of the model the field points at (the kernel imports no
        # app above it).
        url = (
            PlatformCall._meta.get_field("binding")
            .related_model(pk=obj.binding_id)
            .get_absolute_url()
        )
        return format_html('<a href="{}">#{}</a>', url, obj.binding_id)
