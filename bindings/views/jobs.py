"""The long operations of bindings and their pages: bulk upload, X-number import, reconciliation.

Each is a job row and a task; its page shows where it stands and polls a permission-checked JSON
endpoint (``bindings/static/bindings/progress.js``) until it is finished, without a reload.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

from bindings import modes, services
from bindings.choices import BindingStatus
from bindings.filters import NumberImportFilterSet, ReconciliationFilterSet
from bindings.forms import BulkCreateForm, XNumberImportForm
from bindings.models import BulkJob, NumberImport, Reconciliation
from bindings.tables import NumberImportTable, ReconciliationTable
from console import uploads
from console.pages import ConsolePage

PAGINATION = {"paginator_class": LazyPaginator, "per_page": 50}

# ---------------------------------------------------------------------------------------------
# Bulk upload
# ---------------------------------------------------------------------------------------------


class BulkCreateView(ConsolePage, TemplateView):
    """``/bindings/bulk/``: a CSV of bindings of one application, created by a task."""

    permission_required = "bindings.add_binding"
    template_name = "bindings/bulk_create.html"
    title = _("Create bindings from a CSV file")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=kwargs.get("form") or BulkCreateForm(),
            modes=[(mode.name, ", ".join(mode.bulk_columns)) for mode in modes.MODES.values()],
            jobs=BulkJob.objects.filter(created_by=self.request.user)
            .select_related("application")
            .defer("source", "errors")[:10],
        )
        return context

    def post(self, request, *args, **kwargs):
        form = BulkCreateForm(request.POST, request.FILES)
        if uploads.explain_refusal(request, form, "file"):
            pass  # cut off while it streamed in: the form says which limit it passed
        elif form.is_valid():
            try:
                job = services.start_bulk_create(
                    form.cleaned_data["application"],
                    request.FILES["file"].name,
                    form.cleaned_data["file"],
                    user=request.user,
                    request=request,
                    language=get_language() or "",
                )
            except services.BindingRefused as refusal:
                form.add_error("file", refusal.message)
            else:
                return HttpResponseRedirect(reverse("bindings:bulk-job", args=[job.pk]))
        return self.render_to_response(self.get_context_data(form=form))


class BulkJobView(ConsolePage, TemplateView):
    """``/bindings/bulk/<id>/``: a bulk upload's progress, for its uploader and administrators."""

    permission_required = "bindings.add_binding"
    template_name = "bindings/bulk_progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = get_object_or_404(BulkJob.objects.select_related("application"), pk=kwargs["pk"])
        if not services.may_follow_bulk_job(self.request.user, job):
            raise Http404(gettext("No such bulk upload."))
        progress = services.bulk_progress(job)
        context.update(
            title=gettext("Bulk upload #%(id)s") % {"id": job.pk},
            job=job,
            progress=progress,
            progress_url=reverse("bindings:bulk-progress", args=[job.pk]),
            statuses=[
                (value, label, progress["bindings"].get(value, 0))
                for value, label in BindingStatus.choices
            ],
        )
        return context


@never_cache
@require_GET
@login_required
@permission_required("bindings.add_binding", raise_exception=True)
def bulk_progress(request, pk: int) -> JsonResponse:
    """Rows processed and where the created bindings stand; polled by the progress page. Only its
    uploader or an administrator may follow a job (404 for anyone else: not even whether it
    exists)."""
    job = get_object_or_404(BulkJob, pk=pk)
    if not services.may_follow_bulk_job(request.user, job):
        raise Http404("no such bulk upload")
    return JsonResponse(services.bulk_progress(job))


# ---------------------------------------------------------------------------------------------
# X-number import
# ---------------------------------------------------------------------------------------------


class NumberImportView(ConsolePage, TemplateView):
    """``/bindings/numbers/import/``: upload a file of X numbers; a bad file is refused on the
    form at once, a good one becomes a job validated by a task."""

    permission_required = ("bindings.add_xnumber", "bindings.add_numberimport")
    template_name = "bindings/import_upload.html"
    title = _("Import X numbers")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs.get("form") or XNumberImportForm()
        context.update(form=form, media=form.media, columns=services.IMPORT_COLUMNS)
        return context

    def post(self, request, *args, **kwargs):
        form = XNumberImportForm(request.POST, request.FILES)
        if uploads.explain_refusal(request, form, "import_file"):
            pass  # cut off while it streamed in: the form says which limit it passed
        elif form.is_valid():
            upload = form.cleaned_data["import_file"]
            try:
                services.check_import_size(upload.size)  # before reading it into memory
                job = services.start_number_import(
                    form.cleaned_data["application"],
                    upload.name,
                    form.file_format(),
                    upload.read(),
                    user=request.user,
                    language=get_language() or "",
                )
            except services.ImportRefused as refusal:
                form.add_error("import_file", refusal.message)
            else:
                return HttpResponseRedirect(reverse("bindings:import-job", args=[job.pk]))
        return self.render_to_response(self.get_context_data(form=form))


class NumberImportListView(ConsolePage, SingleTableMixin, FilterView):
    """``/bindings/numbers/imports/``: every X-number import, newest first."""

    permission_required = "bindings.view_numberimport"
    title = _("X-number imports")
    template_name = "bindings/import_list.html"
    table_class = NumberImportTable
    filterset_class = NumberImportFilterSet
    table_pagination = PAGINATION

    def get_queryset(self):
        return NumberImport.objects.select_related(
            "application", "created_by", "confirmed_by"
        ).defer("source", "errors")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["can_import"] = user.has_perms(
            ["bindings.add_xnumber", "bindings.add_numberimport"]
        )
        return context


def _import_job(pk: int) -> NumberImport:
    return get_object_or_404(
        NumberImport.objects.select_related("application", "created_by").defer("source"), pk=pk
    )


class NumberImportJobView(ConsolePage, TemplateView):
    """``/bindings/numbers/import/<id>/``: the validation's progress, the preview, Confirm, the
    import, and a link to the numbers once they are in."""

    permission_required = "bindings.view_numberimport"
    template_name = "bindings/import_job.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = _import_job(kwargs["pk"])
        context.update(
            title=gettext("Import of X numbers #%(id)s") % {"id": job.pk},
            job=job,
            progress=services.number_import_progress(job),
            progress_url=reverse("bindings:import-progress", args=[job.pk]),
            may_confirm=self.request.user.has_perm("bindings.add_xnumber"),
            may_import=self.request.user.has_perms(
                ["bindings.add_xnumber", "bindings.add_numberimport"]
            ),
            numbers_url=reverse("bindings:numbers") + f"?application={job.application_id}",
        )
        return context


class ConfirmImportView(ConsolePage, TemplateView):
    """POST ``/bindings/numbers/import/<id>/confirm/``: import the previewed job, once."""

    permission_required = ("bindings.view_numberimport", "bindings.add_xnumber")
    http_method_names = ["post"]

    def post(self, request, pk: int):
        job = _import_job(pk)
        if not services.confirm_number_import(job, user=request.user, request=request):
            messages.warning(
                request, gettext("This import was already confirmed, or has nothing to import.")
            )
        return HttpResponseRedirect(reverse("bindings:import-job", args=[job.pk]))


@never_cache
@require_GET
@login_required
@permission_required("bindings.view_numberimport", raise_exception=True)
def import_progress(request, pk: int) -> JsonResponse:
    """Phase and rows read of an X-number import, and its refused rows once a pass is over."""
    job = get_object_or_404(NumberImport.objects.defer("source"), pk=pk)
    return JsonResponse(services.number_import_progress(job))


# ---------------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------------


class ReconciliationListView(ConsolePage, SingleTableMixin, FilterView):
    """``/bindings/reconciliations/``: every comparison with the platform, newest first."""

    permission_required = "bindings.view_reconciliation"
    title = _("Reconciliations")
    template_name = "bindings/reconciliation_list.html"
    table_class = ReconciliationTable
    filterset_class = ReconciliationFilterSet
    table_pagination = PAGINATION

    def get_queryset(self):
        return Reconciliation.objects.select_related("application", "triggered_by").defer("details")


class ReconciliationView(ConsolePage, TemplateView):
    """``/bindings/reconciliations/<id>/``: a run's progress while it runs, then its report:
    what only the platform has (masked), what was ended here, numbers that could not be asked."""

    permission_required = "bindings.view_reconciliation"
    template_name = "bindings/reconciliation_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = get_object_or_404(
            Reconciliation.objects.select_related("application", "triggered_by"), pk=kwargs["pk"]
        )
        context.update(
            title=gettext("Reconciliation #%(id)s") % {"id": run.pk},
            run=run,
            progress=services.reconcile_progress(run),
            progress_url=reverse("bindings:reconcile-progress", args=[run.pk]),
            unknown=run.details.get("unknown", []),
            lost=run.details.get("lost", []),
            failures=run.details.get("failures", []),
        )
        return context


@never_cache
@require_GET
@login_required
@permission_required("bindings.view_reconciliation", raise_exception=True)
def reconcile_progress(request, pk: int) -> JsonResponse:
    """Numbers checked so far and what was found; polled by the reconciliation's page."""
    run = get_object_or_404(Reconciliation, pk=pk)
    return JsonResponse(services.reconcile_progress(run))
