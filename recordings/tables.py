"""Tables of recordings pages (django-tables2). Real numbers are always masked here."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from console.numbers import mask
from recordings import services
from recordings.models import Recording
from recordings.templatetags.recordings_tags import countdown


class AtRiskTable(tables.Table):
    """Recordings not stored, earliest deadline first, with the time left."""

    id = tables.Column(verbose_name=_("Recording"), orderable=False)
    application = tables.Column(
        verbose_name=_("Application"), accessor="application__name", orderable=False
    )
    call = tables.Column(verbose_name=_("Call started"), accessor="call_started_at")
    caller = tables.Column(verbose_name=_("Caller"), accessor="call_record__caller_num")
    callee = tables.Column(verbose_name=_("Forwarded to"), accessor="call_record__fwd_dst_num")
    x_number = tables.Column(verbose_name=_("X number"), accessor="call_record__bind_num")
    state = tables.Column(verbose_name=_("State"))
    attempts = tables.Column(verbose_name=_("Attempts"))
    last_error = tables.Column(
        verbose_name=_("Last error"), accessor="last_error_code", empty_values=()
    )
    deadline = tables.Column(verbose_name=_("Deadline"))
    left = tables.Column(verbose_name=_("Time left"), accessor="deadline", empty_values=())

    class Meta:
        model = Recording
        fields = ()
        sequence = (
            "id",
            "application",
            "call",
            "caller",
            "callee",
            "x_number",
            "state",
            "attempts",
            "last_error",
            "deadline",
            "left",
        )
        attrs = {"class": "recordings-at-risk"}
        empty_text = _("None.")

    def render_id(self, record: Recording) -> str:
        url = reverse("admin:recordings_recording_change", args=[record.pk])
        return format_html('<a href="{}">#{}</a>', url, record.pk)

    def render_call(self, value) -> str:
        return date_format(localtime(value), "Y-m-d H:i:s")

    def render_caller(self, value: str) -> str:
        return mask(value)

    def render_callee(self, value: str) -> str:
        return mask(value)

    def render_state(self, record: Recording) -> str:
        return format_html(
            '<span class="recording-state recording-state-{}">{}</span>',
            record.state,
            record.get_state_display(),
        )

    def render_last_error(self, record: Recording) -> str:
        return services.explain(record.last_error_code) or "—"

    def render_deadline(self, value) -> str:
        return date_format(localtime(value), "Y-m-d H:i")

    def render_left(self, value) -> str:
        return format_html(
            '<span class="recording-countdown" data-deadline="{}">{}</span>',
            value.isoformat(),
            countdown(value),
        )
