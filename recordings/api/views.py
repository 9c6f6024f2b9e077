"""Recordings of the key's applications (``recordings:read``): newest first, by cursor, with
filters; and the audio behind a signed URL, which needs no key (a player or a download manager can
fetch it), checks its signature and age, counts against the key's rate limit, audits the download
under the key's name and serves the stored file with HTTP Range (``recordings.views.serve``, the
browser player's own code)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import Throttled
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from console.api.authentication import ApiPrincipal
from console.api.pagination import NewestFirst
from console.api.params import filtered
from console.api.permissions import applications_of
from console.api.problems import Problem
from console.api.throttling import ApiKeyThrottle
from console.choices import ApiScope
from console.models import ApiKey
from recordings import views as pages
from recordings.api.serializers import RecordingSerializer
from recordings.api.signing import UrlRefused, key_id_of
from recordings.choices import RecordingState
from recordings.models import Recording

PROBLEM = OpenApiResponse(description="A problem detail (RFC 9457, application/problem+json)")
READ = ApiScope.RECORDINGS_READ.value
# What a list page reads: one query, the recording and its call's binding id.
ONLY = (
    "application",
    "call_record",
    "call_record__binding",
    "state",
    "call_started_at",
    "call_seconds",
    "deadline",
    "attempts",
    "last_error_code",
    "size",
    "sha256",
    "duration",
    "audio_format",
    "stored_at",
    "deleted_at",
    "file",
)


class RecordingsMixin:
    scopes = {"GET": READ}
    serializer_class = RecordingSerializer
    request: Request

    def recordings(self):
        return (
            Recording.objects.filter(application__in=applications_of(self.request))
            .select_related("call_record")
            .only(*ONLY)
            .order_by()
        )


@extend_schema(tags=["recordings"])
class RecordingListView(RecordingsMixin, generics.ListAPIView):
    """Recordings newest first (by id), a cursor page at a time; each stored one with a signed
    ``download_url``."""

    pagination_class = NewestFirst

    def get_queryset(self):
        return filtered(
            self.recordings(),
            self.request.query_params,
            ids=("application", ("call", "call_record"), ("binding", "call_record__binding")),
            exact=("state",),
            period=("call_started_at", "started_after", "started_before"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("application", int),
            OpenApiParameter("call", int, description="The call's id (/api/v1/calls/{id}/)."),
            OpenApiParameter("binding", int),
            OpenApiParameter("state", enum=RecordingState.values),
            OpenApiParameter("started_after", OpenApiTypes.DATETIME),
            OpenApiParameter("started_before", OpenApiTypes.DATETIME),
        ],
        responses={200: RecordingSerializer(many=True), 400: PROBLEM, 403: PROBLEM},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["recordings"], responses={200: RecordingSerializer, 404: PROBLEM})
class RecordingDetailView(RecordingsMixin, generics.RetrieveAPIView):
    """One recording, with a fresh signed ``download_url`` once it is stored."""

    def get_queryset(self):
        return self.recordings()


class AnyAccept(BaseContentNegotiation):
    """The audio is audio whatever the client accepts (a player asks for ``audio/*``); a refusal
    is a problem detail."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _refused(code: str) -> Problem:
    if code == "url_expired":
        detail = _("This download URL has expired; ask the API for the recording again.")
    elif code == "url_revoked":
        detail = _("The API key this URL was made for no longer reads this recording.")
    else:
        detail = _("This download URL is not valid.")
    return Problem(detail, code=code, title=_("The download URL was refused."), status_code=403)


@extend_schema(
    tags=["recordings"],
    auth=[],
    parameters=[
        OpenApiParameter("token", str, required=True, description="From ``download_url``."),
        OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="bytes=N-M"),
    ],
    responses={
        (200, "audio/wav"): OpenApiTypes.BINARY,
        (206, "audio/wav"): OpenApiTypes.BINARY,
        403: PROBLEM,
        404: PROBLEM,
        416: OpenApiResponse(description="The range is beyond the file (Content-Range: */size)."),
        429: PROBLEM,
    },
)
class RecordingAudioView(APIView):
    """The audio of a stored recording behind its signed URL (no API key: the URL is the key,
    for ``API_RECORDING_URL_SECONDS``). HTTP Range: 206 with Content-Range; every download is
    audited under the key's name."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAccept

    def get(self, request: Request, pk: int):
        try:
            key_id = key_id_of(request.query_params.get("token", ""), pk)
        except UrlRefused as refused:
            raise _refused(refused.code) from None
        key = ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).first()
        if key is None or not key.has_scope(READ):
            raise _refused("url_revoked")
        # the URL spends the budget of the key that asked for it: a URL handed on (or leaked)
        # cannot fetch more than the key itself could
        throttle = ApiKeyThrottle()
        if not throttle.allow_key(key):
            raise Throttled(wait=throttle.wait())
        recording = (
            Recording.objects.filter(pk=pk, application__in=key.applications.all())
            .select_related("call_record")
            .first()
        )
        if recording is None:
            raise _refused("url_revoked")
        # the browser player's code: Range, If-Range, 416, streaming; the audit row is the key's
        return pages.serve(request._request, recording, download=True, user=ApiPrincipal(key))
