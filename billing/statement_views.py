"""Console pages of billing's money: a statement and its rule, the cost allocation and its
exports, the bill reconciliations (upload, progress, differences). Administrators only; views
parse, call one service and render."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from billing import allocation, reconcile, services, settlement
from billing.choices import CallDirection, DifferenceKind
from billing.forms import AllocationForm, BillUploadForm
from billing.models import (
    BillDifference,
    BillReconciliation,
    CallRecord,
    SettledHour,
    SettlementProgress,
    Statement,
)
from console import audit, exports
from console.choices import AuditAction
from console.pages import ConsolePage
from console.privacy import Numbers

DIFFERENCES_SHOWN = 200  # of each kind on the page; the counts are exact
CALLS_SHOWN = 50  # CDRs listed under an hour's difference


def local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "—"


def billing_rule() -> list[str]:
    """The rule, as a statement states it."""
    return [
        _(
            "A call's length is callEndTime − fwdAnswerTime, rounded up to whole minutes: "
            "1 to 60 seconds are one minute, 61 seconds two. Recording costs nothing extra."
        ),
        _(
            "Calls are settled by the hour: a call belongs to the hour its callEndTime falls in "
            "(a call from 10:59 to 11:01 is billed, whole, in the 11:00 hour)."
        ),
        _(
            "Each hour's minutes are taken from the packages valid for that whole hour, in their "
            "consumption order; within the hour the calls that ended first get the package "
            "minutes. What no package covers is the excess, charged at the tariff's price per "
            "started minute of the call's direction."
        ),
        _(
            "Calls and answered calls count the calls that started in the month; minutes and "
            "charges count the calls that ended in it."
        ),
    ]


class StatementView(ConsolePage, TemplateView):
    """``/statements/<id>/``: one statement, the rule it follows, its lines, packages and hours
    settled again."""

    permission_required = "billing.view_statement"
    template_name = "billing/statement_detail.html"
    title = gettext_lazy("Statement")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        statement = get_object_or_404(
            Statement.objects.select_related("application", "tariff"), pk=self.kwargs["pk"]
        )
        application = statement.application
        start, end = services.month_bounds(statement.month)
        packages = [
            {"package": package, "minutes": minutes}
            for package, minutes in services.packages_drawn(statement)
        ]
        directions = dict(CallDirection.choices)
        progress = SettlementProgress.objects.filter(application=application).first()
        context.update(
            statement=statement,
            title=_("Statement of %(application)s, %(month)s")
            % {"application": application.name, "month": f"{statement.month:%Y-%m}"},
            waits_for_tariff=services.waits_for_tariff(statement),
            rule=billing_rule(),
            lines=[
                {**line, "label": directions.get(line["direction"], line["direction"])}
                for line in statement.lines
            ],
            packages=packages,
            revised=SettledHour.objects.filter(
                application=application, hour__gte=start, hour__lt=end, revisions__gt=0
            ).order_by("hour")[:100],
            settled_until=progress.settled_until if progress else None,
        )
        return context


class AllocationView(ConsolePage, TemplateView):
    """``/statements/allocation/``: the month's costs by application, order-reference prefix or
    cost tag; exported as CSV or XLSX with numbers as numbers."""

    permission_required = "billing.view_statement"
    template_name = "billing/allocation.html"
    title = gettext_lazy("Cost allocation")

    def get(self, request, *args, **kwargs):
        form = AllocationForm(request.GET)
        month, dimension, application, options = form.choices()
        result = allocation.allocate(month, dimension, application=application, options=options)
        export = request.GET.get("_export")
        if export in exports.CONTENT_TYPES:
            return self.export(result, export)
        context = self.get_context_data(form=form, result=result, **kwargs)
        context["dimension"] = allocation.DIMENSIONS[dimension]
        query = request.GET.copy()
        query.pop("_export", None)
        context["export_query"] = query.urlencode()
        return self.render_to_response(context)

    def export(self, result: allocation.Allocation, export_format: str):
        dimension = allocation.DIMENSIONS[result.dimension]
        headers = [
            str(dimension.label),
            _("Billed calls"),
            _("Billable minutes"),
            _("Package minutes"),
            _("Excess minutes"),
            _("Excess charge (CNY)"),
        ]
        kinds = [exports.TEXT, exports.COUNT, exports.COUNT, exports.COUNT, exports.COUNT]
        kinds.append(exports.MONEY)
        rows = [
            [
                exports.typed(value, kind)
                for value, kind in zip(
                    (
                        row.label,
                        row.calls,
                        row.minutes,
                        row.package_minutes,
                        row.excess_minutes,
                        row.excess_charge,
                    ),
                    kinds,
                    strict=True,
                )
            ]
            for row in [*result.rows, result.total]
        ]
        name = f"cost-allocation-{result.month:%Y-%m}-{result.dimension}.{export_format}"
        if export_format == "csv":
            content = exports.csv_bytes(headers, rows)
        else:
            content = exports.xlsx_bytes(headers, kinds, rows, str(_("Cost allocation")))
        audit.record(
            AuditAction.EXPORT,
            Statement,
            request=self.request,
            label=f"{export_format.upper()} {name}",
            details={
                "export": "cost allocation",
                "format": export_format,
                "month": f"{result.month:%Y-%m}",
                "dimension": result.dimension,
            },
        )
        return exports.response(content, export_format, name)


class ReconciliationListView(ConsolePage, TemplateView):
    """``/reconciliation/``: the bills uploaded so far, and the upload of another."""

    permission_required = "billing.view_billreconciliation"
    template_name = "billing/reconciliation_list.html"
    title = gettext_lazy("Bill reconciliation")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", BillUploadForm())
        context.update(
            may_upload=self.request.user.has_perm("billing.add_billreconciliation"),
            reconciliations=BillReconciliation.objects.select_related(
                "application", "created_by"
            ).defer("source")[:50],
        )
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("billing.add_billreconciliation"):
            raise PermissionDenied
        from console import uploads

        form = BillUploadForm(request.POST, request.FILES)
        if uploads.explain_refusal(request, form, "bill"):
            pass  # cut off while it streamed in: the form says which limit it passed
        elif form.is_valid():
            upload = form.cleaned_data["bill"]
            try:
                job = reconcile.start(
                    form.cleaned_data["month"],
                    upload.name,
                    upload.name.rsplit(".", 1)[-1].lower(),
                    upload.read(),
                    application=form.cleaned_data["application"],
                    user=request.user,
                    language=get_language() or "",
                    request=request,
                )
            except reconcile.BillRefused as refusal:
                form.add_error("bill", refusal.message)
            else:
                return HttpResponseRedirect(reverse("billing:reconciliation", args=[job.pk]))
        return self.render_to_response(self.get_context_data(form=form))


class ReconciliationView(ConsolePage, TemplateView):
    """``/reconciliation/<id>/``: the progress of one reconciliation, then every difference with
    the CDR behind it; calls billed but never pushed first, in red."""

    permission_required = "billing.view_billreconciliation"
    template_name = "billing/reconciliation_detail.html"
    title = gettext_lazy("Bill reconciliation")
    shows_numbers = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = get_object_or_404(
            BillReconciliation.objects.select_related("application", "created_by").defer("source"),
            pk=self.kwargs["pk"],
        )
        numbers = context["numbers"]
        groups = []
        counts = dict(
            BillDifference.objects.filter(reconciliation=job)
            .values("kind")
            .annotate(n=Count("id"))
            .values_list("kind", "n")
        )
        for kind, label in DifferenceKind.choices:
            if not counts.get(kind):
                continue
            shown = list(
                BillDifference.objects.filter(reconciliation=job, kind=kind)
                .select_related("application", "call_record")
                .order_by("hour", "application_id", "id")[:DIFFERENCES_SHOWN]
            )
            groups.append(
                {
                    "kind": kind,
                    "label": label,
                    "count": counts[kind],
                    "more": counts[kind] - len(shown),
                    "rows": [describe(d, numbers) for d in shown],
                }
            )
        context.update(
            job=job,
            title=_("Bill reconciliation of %(month)s") % {"month": f"{job.month:%Y-%m}"},
            progress=reconcile.progress(job),
            progress_url=reverse("billing:reconciliation_progress", args=[job.pk]),
            groups=groups,
        )
        return context


class ReconciliationProgressView(PermissionRequiredMixin, View):
    """``/reconciliation/<id>/progress``: the phase and rows of a reconciliation, as JSON."""

    permission_required = "billing.view_billreconciliation"
    http_method_names = ["get"]

    def get(self, request, pk: int):
        job = get_object_or_404(BillReconciliation.objects.defer("source"), pk=pk)
        response = JsonResponse(reconcile.progress(job))
        response["Cache-Control"] = "no-store"
        return response


def _call(record: CallRecord | None, numbers: Numbers) -> dict[str, Any] | None:
    """The CDR behind a difference, as the page shows it (the caller masked unless revealed)."""
    if record is None:
        return None
    return {
        "url": reverse("billing:call", args=[record.application_id, record.session_id]),
        "caller": numbers.show(record.caller_num),
        "x": record.bind_num,
        "answered": local(record.fwd_answer_time),
        "ended": local(record.call_end_time),
        "seconds": record.talk_seconds,
        "minutes": record.billable_minutes,
    }


def describe(difference: BillDifference, numbers: Numbers) -> dict[str, Any]:
    """A difference with what explains it, in the reader's language."""
    detail = difference.detail or {}
    values = {
        "call_id": difference.call_id,
        "billed_minutes": difference.billed_minutes,
        "our_minutes": difference.our_minutes,
        "billed_amount": difference.billed_amount,
        "our_amount": difference.our_amount,
        "billed_price": difference.billed_price if difference.billed_price is not None else "—",
        "our_price": difference.our_price if difference.our_price is not None else "—",
        "package": detail.get("package_minutes", 0),
        "excess": detail.get("excess_minutes", 0),
        "seconds": detail.get("talk_seconds", "—"),
        "hour": local(difference.hour),
    }
    kind = difference.kind
    if kind == DifferenceKind.UNPUSHED:
        text = _(
            "Huawei billed this call (%(billed_minutes)s min, %(billed_amount)s CNY) but its "
            "call record never reached the console."
        )
    elif kind == DifferenceKind.LENGTH:
        text = _(
            "Huawei billed %(billed_minutes)s min, the console %(our_minutes)s min: "
            "%(seconds)s s from fwdAnswerTime to callEndTime, rounded up to the minute."
        )
    elif kind == DifferenceKind.PRICE:
        text = _(
            "Same length; Huawei charged %(billed_amount)s CNY (unit price %(billed_price)s), the "
            "console %(our_amount)s CNY: %(excess)s excess min × %(our_price)s, %(package)s min "
            "from packages."
        )
    elif kind == DifferenceKind.HOUR:
        values["billed_hour"] = local(_parse(detail.get("billed_hour")))
        values["our_hour"] = local(
            _parse(detail.get("our_hour")) if detail.get("our_hour") else difference.hour
        )
        text = _(
            "Huawei billed it in the hour of %(billed_hour)s; the console in the hour of "
            "%(our_hour)s, the hour its callEndTime falls in."
        )
    elif kind == DifferenceKind.NOT_BILLED:
        text = _(
            "The console has this call (%(our_minutes)s min, %(our_amount)s CNY); the bill does "
            "not."
        )
    else:
        text = _(
            "Hour of %(hour)s: the bill has %(billed_minutes)s min and %(billed_amount)s CNY, the "
            "console %(our_minutes)s min and %(our_amount)s CNY."
        )
    row = {
        "difference": difference,
        "hour": local(difference.hour),
        "application": difference.application.name if difference.application else _("All"),
        "text": text % values,
        "call": _call(difference.call_record, numbers),
        "calls": [],
    }
    if kind == DifferenceKind.HOUR_TOTAL and difference.hour is not None:
        calls = settlement.ended_between(
            CallRecord.objects.filter(billable_minutes__gt=0),
            difference.hour,
            difference.hour + timedelta(hours=1),
        )
        if difference.application_id:
            calls = calls.filter(application_id=difference.application_id)
        row["calls"] = [
            _call(record, numbers)
            for record in calls.order_by("call_end_time", "cdr_key")[:CALLS_SHOWN]
        ]
        row["calls_url"] = (
            reverse("billing:calls")
            + "?"
            + urlencode(
                {
                    "application": difference.application_id or "",
                    "since": f"{timezone.localtime(difference.hour):%Y-%m-%d}",
                    "until": f"{timezone.localtime(difference.hour):%Y-%m-%d}",
                }
            )
        )
    return row


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
