"""The read-only audit log, and django-axes' sign-in log without its whole-table counts."""

from __future__ import annotations

import json

from axes import admin as axes_admin
from axes.models import AccessLog
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from console import audit, audit_chain, exports
from console.admin.base import (
    ReadOnlyAdmin,
)
from console.choices import AuditAction
from console.models import AuditLog
from console.paginators import LargeTablePaginator

EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = (
    "sealed_seq",
    "at",
    "username",
    "ip_address",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "details",
    "chain_hash",
)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Read-only: nobody edits or deletes the audit trail from the admin."""

    list_display = ["at", "username", "action", "target_type", "target_repr", "ip_address"]
    change_list_template = "admin/console/auditlog/change_list.html"
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

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="console_auditlog_export"),
            path("verify/", wrap(self.verify_view), name="console_auditlog_verify"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The log as filtered on the list, as CSV (up to ``EXPORT_MAX_ROWS`` rows); audited."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        rows = changelist.get_queryset(request).order_by("-at", "-pk")
        found = list(rows.select_related("target_type")[: EXPORT_MAX_ROWS + 1])
        if len(found) > EXPORT_MAX_ROWS:
            self.message_user(
                request,
                gettext("More than %(n)s rows: narrow the filter and export again.")
                % {"n": f"{EXPORT_MAX_ROWS:,}"},
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:console_auditlog_changelist"))
        table = [
            [
                row.sealed_seq or "",
                row.at.isoformat(),
                *(
                    exports.neutralised(text)  # typed by people: never a live formula
                    for text in (
                        row.username,
                        row.ip_address or "",
                        row.action,
                        str(row.target_type or ""),
                        row.target_id,
                        row.target_repr,
                        json.dumps(row.details, ensure_ascii=False, sort_keys=True),
                    )
                ),
                row.chain_hash,
            ]
            for row in found
        ]
        audit.record(
            AuditAction.EXPORT,
            AuditLog,
            request=request,
            label=f"CSV {request.GET.urlencode()}".strip(),
            details={"rows": len(table)},
        )
        return exports.response(
            exports.csv_bytes(EXPORT_COLUMNS, table),
            "csv",
            f"audit-log-{timezone.localdate():%Y%m%d}.csv",
        )

    def verify_view(self, request):
        """Seal the new rows and walk the chain; the verdict as a message on the list."""
        if not self.has_view_permission(request) or request.method != "POST":
            raise PermissionDenied
        audit_chain.seal()
        verdict = audit_chain.verify()
        if verdict.ok:
            self.message_user(
                request,
                gettext("The audit chain is intact: %(n)s rows verified.") % {"n": verdict.checked},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                gettext("The audit chain breaks at place %(place)s: %(reason)s.")
                % {"place": verdict.broken_at, "reason": gettext(verdict.reason)},
                messages.ERROR,
            )
        return HttpResponseRedirect(reverse("admin:console_auditlog_changelist"))


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
