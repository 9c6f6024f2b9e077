"""Console pages of bindings that are not admin pages: the bulk upload's progress as JSON."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bindings import services
from bindings.models import BulkJob


@never_cache
@require_GET
@login_required
@permission_required("bindings.add_binding", raise_exception=True)
def bulk_progress(request, pk: int) -> JsonResponse:
    """Rows processed and where the created bindings stand; polled by the progress page."""
    job = get_object_or_404(BulkJob, pk=pk)
    return JsonResponse(services.bulk_progress(job))
