"""Console pages of billing: calls, a call's story, calls in progress, statements, dashboard.

Every page requires a permission (anonymous visitors go to the sign-in page, signed-in users
without it get 403) and renders inside the admin's frame so staff move between the admin and
these pages without noticing. Views parse, call one service or query and render.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export.views import ExportMixin
from django_tables2.paginators import LazyPaginator

from billing import dashboard, explain, packages
from billing.choices import CallEventType
from billing.filters import CALLS_PER_PAGE, CallRecordFilterSet, StatementFilterSet
from billing.models import CallEvent, CallRecord, Statement
from billing.tables import CallRecordTable, StatementTable, call_rows, call_rows_html
from bindings import forecast, modes
from bindings.services import stop_call
from console import audit, frame
from console.choices import AuditAction
from console.confirm import confirmation, confirmed
from console.exports import TableExport
from console.models import Application
from console.pages import ConsolePage
from console.privacy import Numbers, numbers_for
from console.static_urls import url as static_url

logger = logging.getLogger(__name__)

# The call page's recording panel: the recordings app's player when installed, else a placeholder.
RECORDING_TEMPLATES = ["recordings/call_panel.html", "billing/call_recording.html"]
# Calls in progress: a callin this recent without a disconnect (the platform's longest call is
# 1440 minutes, but real calls in progress are minutes old; older ones lost their disconnect).
LIVE_WINDOW = timedelta(hours=6)
CALL_LIST_COLUMNS = (
    "id",
    "application__name",
    "application_id",
    "session_id",
    "started_at",
    "bind_num",
    "caller_num",
    "fwd_dst_num",
    "direction",
    "outcome",
    "talk_seconds",
    "billable_minutes",
    "redial_duplicate",
    "no_binding",
    "malformed_number",
)


@contextmanager
def statement_timeout(milliseconds: int):
    """``SET LOCAL statement_timeout`` for the current transaction (PostgreSQL only)."""
    if connection.vendor == "postgresql" and milliseconds:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [int(milliseconds)])
    yield


class RecordPaginator(LazyPaginator):
    """django-tables2's ``LazyPaginator`` over the table's records instead of its ``BoundRows``:
    the page's rows are only read as records (``call_rows``), and building 51 ``BoundRow``
    objects for that was ~3 % of the calls list. ``table.page.object_list`` holds the records."""

    def __init__(self, object_list, *args, **kwargs):
        super().__init__(getattr(object_list, "data", object_list), *args, **kwargs)


class FramedResponse(TemplateResponse):
    """The page's own template (its ``page`` block) inside the frame ``console.frame`` writes:
    the markup of ``billing/base.html`` and the templates it extends, without their cost."""

    @property
    def rendered_content(self):
        page = super().rendered_content
        # what billing/base.html adds to the frame's blocks
        styles = f'<link rel="stylesheet" href="{escape(static_url("billing/billing.css"))}">'
        return frame.console_page(
            self._request,
            self.context_data,
            page,
            extrastyle=styles,
            bodyclass=" console-page billing-page",
        )


class CallRecordListView(ConsolePage, SingleTableMixin, FilterView):
    """``/calls/``: every CDR, newest first, filtered and searched without counting them all.

    The busiest page: its frame is written in Python (:class:`FramedResponse`); the template
    renders the filters and the table (``billing/call_list_page.html``). ``billing/call_list.html``
    is the same page in the templates' frame, which ``billing/tests/test_frame.py`` compares.
    """

    permission_required = "billing.view_callrecord"
    title = _("Calls")
    shows_numbers = True
    template_name = "billing/call_list_page.html"
    response_class = FramedResponse
    table_class = CallRecordTable
    filterset_class = CallRecordFilterSet
    table_pagination = {"paginator_class": RecordPaginator, "per_page": CALLS_PER_PAGE}

    timed_out = False

    def get_queryset(self):
        if self.timed_out:
            return CallRecord.objects.none()
        # Named tuples, not model instances: building 51 CallRecords (most fields deferred) and
        # their Applications cost 2 ms of a page's CPU, the tuples under 1 ms. The rows are only
        # read (billing.tables.call_rows); ordering, filters and the UNION search work the same.
        return CallRecord.objects.values_list(*CALL_LIST_COLUMNS, named=True)

    def get(self, request, *args, **kwargs):
        """Render within a statement timeout: no filter combination may hold a worker for long.

        A query cut short leaves the page with its filters and no rows, and asks for a narrower
        search.
        """
        try:
            with transaction.atomic(), statement_timeout(settings.BILLING_LIST_TIMEOUT_MS):
                response = super().get(request, *args, **kwargs)
                response.render()
                return response
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "57014":  # query_canceled
                raise
        logger.warning("calls list timed out: %s", request.GET.urlencode())
        messages.error(
            request, _("That search took too long. Narrow it with a date range or an application.")
        )
        self.timed_out = True
        return super().get(request, *args, **kwargs)

    def get_table_kwargs(self):
        return {"numbers": numbers_for(self.request)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = context["table"]
        records = list(table.page.object_list)  # RecordPaginator: the records themselves
        context["rows"] = call_rows(records, numbers=table.numbers)
        context["rows_html"] = call_rows_html(context["rows"])
        return context


class CallView(ConsolePage, TemplateView):
    """``/calls/<application>/<session>/``: one call's events, CDR and what its codes mean."""

    permission_required = "billing.view_callrecord"
    template_name = "billing/call_detail.html"
    title = _("Call")
    shows_numbers = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = get_object_or_404(Application, pk=self.kwargs["application_id"])
        session_id = self.kwargs["session_id"]
        events = list(CallEvent.objects.filter(application=application, session_id=session_id))
        records = list(
            CallRecord.objects.filter(application=application, session_id=session_id)
            .select_related("binding")
            .order_by("started_at", "id")[:10]
        )
        if not events and not records:
            raise Http404("no such call")
        record = records[0] if records else None
        numbers = context["numbers"]
        x_numbers = {n for r in records for n in (r.bind_num, r.fwd_display_num, r.callee_num) if n}
        x_numbers |= {e.called for e in events if e.event_type == CallEventType.CALLIN}
        disconnect = next((e for e in events if e.event_type == CallEventType.DISCONNECT), None)
        in_progress = record is None and disconnect is None
        context.update(
            application=application,
            session_id=session_id,
            record=record,
            other_records=records[1:],
            events=[
                {
                    "event": event,
                    "caller": _show(event.caller, numbers, x_numbers),
                    "called": _show(event.called, numbers, x_numbers),
                    # the code's meaning in the reader's language, not the platform's English
                    "cause": (
                        explain.hangup_cause(event.state_code)
                        if event.state_code is not None
                        else None
                    ),
                }
                for event in events
            ],
            parties=_record_numbers(record, numbers) if record else [],
            reasons=explain.call_reasons(
                answered=(
                    record.fwd_answer_time is not None
                    if record is not None
                    else any(e.event_type == CallEventType.ANSWER for e in events)
                ),
                hangup=disconnect.state_code if disconnect is not None else None,
                no_binding=record is not None and record.no_binding,
                release=record.ul_fail_reason if record is not None else None,
                q850_forward=record.fwd_unasw_rsn if record is not None else None,
                q850_call_out=record.call_out_unasw_rsn if record is not None else None,
            ),
            in_progress=in_progress,
            can_stop=(
                in_progress
                and application.mode in modes.STOPS_CALLS
                and self.request.user.has_perm("billing.stop_call")
            ),
            recording_template=select_template(RECORDING_TEMPLATES).template.name,
        )
        started = record.started_at if record is not None else events[0].timestamp
        context["title"] = _("Call of %(time)s") % {
            "time": timezone.localtime(started).strftime("%Y-%m-%d %H:%M:%S")
        }
        return context


def _show(number: str, numbers: Numbers, x_numbers: set[str]) -> str:
    return number if number in x_numbers else numbers.show(number)


def _record_numbers(record: CallRecord, numbers: Numbers) -> list[tuple[str, str]]:
    return [
        (_("Caller"), numbers.show(record.caller_num)),
        (_("Number dialled"), record.callee_num),
        (_("X number"), record.bind_num),
        (_("Displayed number"), record.fwd_display_num),
        (_("Forwarded to"), numbers.show(record.fwd_dst_num)),
    ]


class LiveCallsView(ConsolePage, TemplateView):
    """``/calls/live/``: calls that started recently and have not ended."""

    permission_required = "billing.view_callevent"
    template_name = "billing/live_calls.html"
    title = _("Calls in progress")
    shows_numbers = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        since = timezone.now() - LIVE_WINDOW
        ended = CallEvent.objects.filter(
            application=OuterRef("application"),
            session_id=OuterRef("session_id"),
            event_type=CallEventType.DISCONNECT,
        )
        calls = (
            CallEvent.objects.filter(timestamp__gte=since, event_type=CallEventType.CALLIN)
            .exclude(Exists(ended))
            .select_related("application")
            .order_by("-timestamp")[:200]
        )
        numbers = context["numbers"]
        context["calls"] = [
            {"event": event, "caller": numbers.show(event.caller), "x": event.called}
            for event in calls
        ]
        return context


class StopCallView(PermissionRequiredMixin, View):
    """``/calls/<application>/<session>/stop``: hang up an AXYB call in progress, once confirmed
    (GET, or a POST without confirmation, shows the confirmation page)."""

    permission_required = "billing.stop_call"
    http_method_names = ["get", "post"]

    def get(self, request, application_id: int, session_id: str):
        get_object_or_404(Application, pk=application_id, mode__in=modes.STOPS_CALLS)
        return confirmation(
            request,
            title=str(_("Stop this call?")),
            question=str(
                _("The platform hangs the call up at once, for both parties. It cannot be undone.")
            ),
            confirm_label=str(_("Yes, stop this call")),
            action_url=reverse("billing:stop_call", args=[application_id, session_id]),
            back_url=reverse("billing:call", args=[application_id, session_id]),
        )

    def post(self, request, application_id: int, session_id: str):
        if not confirmed(request):
            return self.get(request, application_id, session_id)
        application = get_object_or_404(Application, pk=application_id, mode__in=modes.STOPS_CALLS)
        url = reverse("billing:call", args=[application_id, session_id])
        try:
            stop_call(application, session_id, request.user, request=request)
        except Exception as exc:
            logger.warning("stop call %s failed: %s", session_id, exc)
            messages.error(request, _("The call could not be stopped: %(error)s") % {"error": exc})
        else:
            messages.success(request, _("The platform was asked to end the call."))
        return HttpResponseRedirect(url)


class StatementListView(ConsolePage, ExportMixin, SingleTableMixin, FilterView):
    """``/statements/``: monthly statements, exported to CSV or XLSX as filtered."""

    permission_required = "billing.view_statement"
    title = _("Statements")
    template_name = "billing/statement_list.html"
    table_class = StatementTable
    filterset_class = StatementFilterSet
    # Like the calls list: newer / older pages, never a COUNT(*) of the table.
    table_pagination = {"paginator_class": LazyPaginator, "per_page": CALLS_PER_PAGE}
    export_formats = ("csv", "xlsx")
    export_name = "statements"
    export_class = TableExport  # a BOM, numbers as numbers, no live formulas

    def get_queryset(self):
        return Statement.objects.select_related("application")

    def get_dataset_kwargs(self):
        return {"title": str(_("Statements"))}

    def create_export(self, export_format):
        response = super().create_export(export_format)
        filters = {k: v for k, v in self.request.GET.items() if k != self.export_trigger_param}
        audit.record(
            AuditAction.EXPORT,
            Statement,
            request=self.request,
            label=f"{export_format.upper()} {urlencode(filters)}".strip(),
            details={"export": "statements", "format": export_format, "filters": filters},
        )
        return response


class DashboardView(ConsolePage, TemplateView):
    """``/dashboard/``: the last 24 hours and 30 days, drawn as server-side SVG."""

    permission_required = "billing.view_callrecord"
    template_name = "billing/dashboard.html"
    title = _("Dashboard")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        applications = Application.objects.order_by("name")
        chosen = self.request.GET.get("application") or ""
        chosen_id = chosen.isdigit() and len(chosen) <= 18
        application = applications.filter(pk=chosen).first() if chosen_id else None
        with_money = self.request.user.has_perm("billing.view_statement")
        with_packages = self.request.user.has_perm("billing.view_package")
        with_pools = self.request.user.has_perm("bindings.view_xnumber")
        context.update(
            packages=packages.balances(application) if with_packages else None,
            pools=self._shortest_pools(application) if with_pools else None,
            applications=applications,
            application=application,
            with_money=with_money,
            as_of=dashboard.as_of(),
            periods=[
                dashboard.last_24_hours(application=application, with_money=with_money),
                dashboard.last_30_days(application=application, with_money=with_money),
            ],
        )
        return context

    POOLS_SHOWN = 6

    def _shortest_pools(self, application) -> list[dict]:
        """The pools whose free capacity runs out first (bindings.forecast), with their charts:
        from the hourly record of their usage, not an aggregate over every X number."""
        rows = [
            row
            for row in forecast.recorded_forecasts()
            if application is None or row["application_id"] == application.pk
        ]
        rows.sort(key=lambda r: (r["days_left"] is None, r["days_left"] or 0, -r["bindings"]))
        return rows[: self.POOLS_SHOWN]
