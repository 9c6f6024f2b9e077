"""The landing page: the one page that reads every app (the shell stands above them all)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from billing import dashboard, explain
from billing.choices import CallOutcome
from billing.filters import CallRecordFilterSet
from billing.models import CallRecord
from billing.tables import call_rows
from bindings.filters import search_bindings
from bindings.models import Binding
from console import alerts, inbox, jobs
from console.pages import ConsolePage
from recordings import services as recordings


class HomeView(ConsolePage, TemplateView):
    """``/``: the staff landing page. One search box (a binding by any number or order ref, a
    call by number), today's figures, recent failed calls with their causes, recordings at risk,
    and for administrators the open alerts and the held pushes.

    It searches with the bindings list's and the calls list's own searches and reads billing's
    figures and explanations and the recordings' at-risk list: no logic of theirs is repeated here.
    Each part is shown only to those allowed to see it.
    """

    template_name = "shell/home.html"
    title = _("Console")
    shows_numbers = True
    RESULTS = 10

    def has_permission(self) -> bool:
        user = self.request.user
        return user.is_active and user.is_staff

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        numbers = context["numbers"]
        q = self.request.GET.get("q", "").strip()[:100]
        context["q"] = q
        calls_allowed = user.has_perm("billing.view_callrecord")
        if q and user.has_perm("bindings.view_binding"):
            found = search_bindings(Binding.objects.all(), q)
            context["bindings"] = [
                {
                    "url": reverse("bindings:binding", args=[b.pk]),
                    "order_ref": b.order_ref or "—",
                    "mode": b.mode,
                    "status": b.get_status_display(),
                    "a": numbers.show(b.a_number),
                    "b": numbers.show(b.b_number) or "—",
                    "x": b.x_number or "—",
                }
                for b in found.order_by("-pk")[: self.RESULTS]
            ]
        if q and calls_allowed:
            # The search is a UNION of index reads (billing.filters.match_any): what each branch
            # needs (the application) is joined before it, only ordering and slicing after.
            queryset = CallRecord.objects.select_related("application")
            calls = CallRecordFilterSet({"q": q}, queryset=queryset).qs
            records = calls.order_by("-started_at", "-id")
            context["calls"] = call_rows(records[: self.RESULTS], numbers=numbers)
        if calls_allowed:
            context["today"] = dashboard.last_24_hours(application=None, with_money=False)
            failed = (
                CallRecord.objects.select_related("application")
                .exclude(outcome=CallOutcome.ANSWERED)
                .order_by("-started_at", "-id")[: self.RESULTS]
            )
            context["failed"] = [
                (row, explain.release_point(record.ul_fail_reason))
                for row, record in zip(call_rows(failed, numbers=numbers), failed, strict=True)
            ]
        if user.has_perm("recordings.monitor_recordings"):
            context["at_risk"] = list(recordings.at_risk()[: self.RESULTS])
        if user.has_perm("console.view_alert"):
            context["open_alerts"] = alerts.open_count()
        if user.has_perm("console.view_delivery"):
            context["held_pushes"] = inbox.held_count()
            context["held_cap"] = inbox.HELD_COUNT_CAP
        if jobs.may_retry(user):
            context["stuck_jobs"] = jobs.stuck_count(user)
        return context


# The API's documents (docs/api.md): Swagger UI and Redoc from the console's own static files.
# Both render their styles from JavaScript, which the console's CSP forbids; these two pages allow
# inline styles (never inline scripts) in a policy of their own.
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "worker-src 'self' blob:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ApiDocsView(SpectacularSwaggerSplitView):
    """``/api/docs/``: Swagger UI, offline."""

    schema = None  # a page, not an endpoint of the API

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = _DOCS_POLICY
        return response


class ApiRedocView(SpectacularRedocView):
    """``/api/redoc/``: Redoc, offline."""

    schema = None

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = _DOCS_POLICY
        return response
