"""A recording as the API shows it: where it stands, what was stored, and a signed URL to it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from console.api.serializers import FieldsBuiltOnce
from recordings.api.signing import signed_url
from recordings.models import Recording


class RecordingSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    application = serializers.IntegerField(source="application_id", read_only=True)
    call = serializers.IntegerField(source="call_record_id", read_only=True)
    binding = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    download_url_expires_at = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = (
            "id",
            "application",
            "call",
            "binding",
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
            "download_url",
            "download_url_expires_at",
        )
        read_only_fields = fields

    def get_binding(self, recording: Recording) -> int | None:
        return recording.call_record.binding_id

    def _signed(self, recording: Recording):
        if not recording.playable:
            return None, None
        cache = self.context.setdefault("_signed", {})
        if recording.pk not in cache:
            request = self.context["request"]
            cache[recording.pk] = signed_url(request, recording.pk, request.auth.pk)
        return cache[recording.pk]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, recording: Recording) -> str | None:
        """The audio (HTTP Range served), without a key, for ``API_RECORDING_URL_SECONDS``; null
        until the recording is stored."""
        return self._signed(recording)[0]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_download_url_expires_at(self, recording: Recording):
        expires = self._signed(recording)[1]
        return serializers.DateTimeField().to_representation(expires) if expires else None
