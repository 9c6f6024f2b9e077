"""The alerts administrators look at and acknowledge."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import alerts
from console.admin.base import (
    DefaultedListFilter,
    ReadOnlyAdmin,
)
from console.models import Alert
from console.paginators import LargeTablePaginator


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
        "emailed_at",
        "resolution_emailed_at",
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
