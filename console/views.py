"""Console pages that are not admin pages."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from console import health


@never_cache
@require_GET
def healthz(request):
    """Machine-readable health: 200 when database, Redis and workers are up, else 503."""
    status, body = health.report()
    return JsonResponse(body, status=status)
