"""The read-only audit log, and django-axes' sign-in log without its whole-table counts."""

from __future__ import annotations

from axes import admin as axes_admin
from axes.models import AccessLog
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console.admin.base import (
    ReadOnlyAdmin,
)
from console.models import AuditLog
from console.paginators import LargeTablePaginator


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
