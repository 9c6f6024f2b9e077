"""Console pages of recordings: the audio itself (play, download) and the recordings at risk.

The audio views check the permission, write the audit row and stream the stored file from
storage in chunks with HTTP Range support (206 with Content-Range, 416 for a range beyond the
end), so an ``<audio>`` element can seek. The whole file is never read into memory.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from console.paginators import BoundedPaging
from recordings import ranges, services, storage
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tables import AtRiskTable
from recordings.templatetags.recordings_tags import countdown_units

logger = logging.getLogger(__name__)

PAGINATION = {"paginator_class": LazyPaginator, "per_page": 50}
LOST_WINDOW = timedelta(days=7)


@require_safe
@login_required
@permission_required("recordings.play_recording", raise_exception=True)
def audio(request, pk: int):
    """The recording for the player (inline), with Range support; audited."""
    return _serve(request, pk, download=False)


@require_safe
@login_required
@permission_required("recordings.download_recording", raise_exception=True)
def download(request, pk: int):
    """The recording as a download (attachment), with Range support; every request audited."""
    return _serve(request, pk, download=True)


def _serve(request, pk: int, *, download: bool) -> HttpResponse:
    recording = get_object_or_404(Recording.objects.select_related("call_record"), pk=pk)
    return serve(request, recording, download=download)


def serve(request, recording: Recording, *, download: bool, user=None) -> HttpResponse:
    """Stream a stored recording, whole or the one range asked for (``If-Range`` honoured), and
    audit it as ``user`` (the request's user by default; the API's signed URL: the key)."""
    pk = recording.pk
    if not recording.playable or recording.size is None:
        raise Http404("this recording is not stored")
    size = recording.size
    etag = f'"{recording.sha256}"'
    header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if header and if_range and if_range != etag:
        header = None  # the file changed since the client's copy: send it whole
    try:
        wanted = ranges.parse(header, size)
    except ranges.RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = (wanted.start, wanted.end) if wanted else (0, size - 1)
    try:
        body = storage.open_range(recording.file.name, start, end) if size else iter(())
    except FileNotFoundError:
        logger.error("%s is marked stored but its file %s is missing", recording, recording.file)
        raise Http404("the stored file is missing") from None
    services.record_playback(recording, request, download=download, user=user)
    if request.method == "HEAD":
        close = getattr(body, "close", None)
        if close is not None:
            close()
        body = iter(())
    response = StreamingHttpResponse(body, status=206 if wanted else 200, content_type="audio/wav")
    response["Content-Length"] = str(end - start + 1 if size else 0)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-store"
    if wanted:
        response["Content-Range"] = wanted.content_range
    when = timezone.localtime(recording.call_started_at).strftime("%Y%m%d-%H%M%S")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="recording-{pk}-{when}.wav"'
    return response


def _hours(seconds: int) -> float | int:
    hours = round(seconds / 3600, 1)
    return int(hours) if hours == int(hours) else hours


class AtRiskView(BoundedPaging, PermissionRequiredMixin, TemplateView):
    """``/recordings/at-risk/``: recordings not stored whose deadline is near, earliest first,
    with a countdown; and those lost in the last week."""

    permission_required = "recordings.monitor_recordings"
    template_name = "recordings/at_risk.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(admin.site.each_context(self.request))
        now = timezone.now()
        base = Recording.objects.select_related("application", "call_record")
        at_risk = services.at_risk(now=now)
        lost = base.filter(state=RecordingState.EXPIRED, deadline__gt=now - LOST_WINDOW).order_by(
            "-deadline", "-id"
        )
        at_risk_table = AtRiskTable(at_risk, prefix="risk-", orderable=False)
        lost_table = AtRiskTable(lost, prefix="lost-", orderable=False)
        # Pages of 50, newer / older, never counted: a platform outage leaves thousands here.
        for table in (at_risk_table, lost_table):
            RequestConfig(self.request, paginate=PAGINATION).configure(table)
        context.update(
            title=_("Recordings at risk"),
            at_risk_table=at_risk_table,
            lost_table=lost_table,
            alert_hours=_hours(settings.RECORDING_ALERT_BEFORE_SECONDS),
            countdown_units=countdown_units(),
        )
        return context
