"""Console pages of bindings that are not admin pages: progress of long operations as JSON."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bindings import services
from bindings.models import BulkJob, NumberImport, Reconciliation


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


@never_cache
@require_GET
@login_required
@permission_required("bindings.view_reconciliation", raise_exception=True)
def reconcile_progress(request, pk: int) -> JsonResponse:
    """Numbers checked so far and what was found; polled by the reconciliation's page."""
    run = get_object_or_404(Reconciliation, pk=pk)
    return JsonResponse(services.reconcile_progress(run))


@never_cache
@require_GET
@login_required
@permission_required("bindings.view_numberimport", raise_exception=True)
def import_progress(request, pk: int) -> JsonResponse:
    """Phase and rows read of an X-number import, and its refused rows once a pass is over."""
    job = get_object_or_404(NumberImport.objects.defer("source"), pk=pk)
    return JsonResponse(services.number_import_progress(job))
