"""Admin of recordings: the list (numbers masked), one recording with its player, retry now.

Recordings are created by the CDR ingest and changed only by the workers: every field is read-only
here, nothing is added or deleted by hand (the retention job deletes stored copies, audited).
Administrators may queue failed recordings again at once (audited).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing.filters import NUMBER_COLUMNS, match_any
from billing.models import CallRecord
from console import jobs
from console.admin import ConsoleModelAdmin
from console.numbers import mask, search_form
from console.paginators import LargeTablePaginator
from recordings import services
from recordings.models import Recording
from recordings.tasks import fetch_recording_task
from recordings.templatetags.recordings_tags import countdown

SEARCH_CALLS = 1000


@admin.register(Recording)
class RecordingAdmin(ConsoleModelAdmin):
    """Recordings for customer service (view, play) and administrators (everything)."""

    list_display = [
        "id",
        "call_started_at",
        "application",
        "caller",
        "forwarded_to",
        "x_number",
        "state_label",
        "duration_shown",
        "deadline",
        "time_left",
        "attempts",
    ]
    list_display_links = ["id", "call_started_at"]
    list_filter = ["state", "application"]
    list_select_related = ["application", "call_record"]
    search_fields = ["file_name"]
    search_help_text = _(
        "Caller, forwarded-to or X number in any form (138 0000 0001, +86-138…), "
        "or the platform's file name."
    )
    ordering = ["-call_started_at", "-id"]
    sortable_by = ["id", "call_started_at"]
    list_per_page = 50
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["retry_now"]
    change_form_template = "admin/recordings/recording/change_form.html"
    change_list_template = "admin/recordings/recording/change_list.html"
    fieldsets = [
        (
            _("Call"),
            {"fields": ["call_link", "application", "call_started_at", "call_seconds", "parties"]},
        ),
        (
            _("Where it stands"),
            {
                "fields": [
                    "state_label",
                    "deadline",
                    "time_left",
                    "attempts",
                    "last_attempt_at",
                    "next_attempt_at",
                    "error_shown",
                    "alerted_at",
                ]
            },
        ),
        (
            _("Stored file"),
            {"fields": ["stored_at", "size", "duration", "audio_format", "sha256", "deleted_at"]},
        ),
        (
            _("On the platform"),
            {
                "classes": ["collapse"],
                "fields": ["file_name", "record_domain", "bucket_name", "pushed_at"],
            },
        ),
    ]

    # --- columns --------------------------------------------------------------------------------

    @admin.display(description=_("caller"))
    def caller(self, obj: Recording) -> str:
        return mask(obj.call_record.caller_num)

    @admin.display(description=_("forwarded to"))
    def forwarded_to(self, obj: Recording) -> str:
        return mask(obj.call_record.fwd_dst_num) or "–"

    @admin.display(description=_("X number"))
    def x_number(self, obj: Recording) -> str:
        return obj.call_record.bind_num or "–"

    @admin.display(description=_("parties"))
    def parties(self, obj: Recording) -> str:
        record = obj.call_record
        return f"{mask(record.caller_num)} → {record.bind_num} → {mask(record.fwd_dst_num) or '–'}"

    @admin.display(description=_("state"), ordering="state")
    def state_label(self, obj: Recording) -> str:
        return format_html(
            '<span class="recording-state recording-state-{}">{}</span>',
            obj.state,
            obj.get_state_display(),
        )

    @admin.display(description=_("duration"))
    def duration_shown(self, obj: Recording) -> str:
        seconds = obj.duration if obj.duration is not None else obj.call_seconds
        return "–" if seconds is None else f"{seconds:.0f} s"

    @admin.display(description=_("time left"))
    def time_left(self, obj: Recording) -> str:
        if not obj.outstanding:
            return "–"
        return format_html(
            '<span class="recording-countdown" data-deadline="{}">{}</span>',
            obj.deadline.isoformat(),
            countdown(obj.deadline),
        )

    @admin.display(description=_("last error"))
    def error_shown(self, obj: Recording) -> str:
        if not obj.last_error_code:
            return "–"
        return format_html(
            "{}: {}<br><small>{}</small>",
            obj.last_error_code,
            services.explain(obj.last_error_code),
            obj.last_error,
        )

    @admin.display(description=_("call"))
    def call_link(self, obj: Recording) -> str:
        record = obj.call_record
        url = reverse("billing:call", args=[record.application_id, record.session_id])
        return format_html('<a href="{}">{}</a>', url, record.session_id[:60])

    # --- search ---------------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        """A number: the recordings of the newest ``SEARCH_CALLS`` calls it took part in, found
        with the calls list's own search (one index read per number column, merged); a join
        with an OR over the CDRs' columns would read every CDR. Else the platform's file name.
        """
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        number = search_form(term)
        if number is None:
            return queryset.filter(file_name=term), False
        calls = match_any(
            CallRecord.objects.values_list("id", "started_at"),
            NUMBER_COLUMNS,
            number,
            first=SEARCH_CALLS,
        )
        ids = [pk for pk, _started in calls.order_by("-started_at")[:SEARCH_CALLS]]
        return queryset.filter(call_record_id__in=ids), False

    # --- pages ----------------------------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A deleted row would leave its file behind; stored copies go by the retention job.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("retry_now", None)
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        recording = self.get_object(request, object_id)
        extra_context["call_record"] = recording.call_record if recording else None
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Fetch the selected recordings again now"))
    def retry_now(self, request, queryset):
        ids = services.retry_now(queryset.select_related("application"), request=request)
        for recording_id in ids:
            # Never a 500 with the broker down: beat queues the recording later (it is due now).
            jobs.send_on_commit(fetch_recording_task, recording_id)
        skipped = queryset.count() - len(ids)
        self.message_user(
            request,
            ngettext("%(count)d recording queued.", "%(count)d recordings queued.", len(ids))
            % {"count": len(ids)},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d recording skipped: only failed or waiting recordings before "
                    "their deadline are fetched again.",
                    "%(count)d recordings skipped: only failed or waiting recordings before "
                    "their deadline are fetched again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
