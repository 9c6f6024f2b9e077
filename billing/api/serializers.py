"""A call as the API shows it: billed, explained in en and zh-hans, numbers masked unless the key
has ``numbers:real`` (``console.privacy``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.events import reasons
from billing.models import CallRecord
from console.privacy import numbers_for_api


class ReasonSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    category = serializers.CharField()
    meaning = serializers.CharField()


# The reasons in each language, keyed by language code ("zh-hans" is no identifier).
ReasonsSerializer = type(
    "ReasonsSerializer",
    (serializers.Serializer,),
    {"en": ReasonSerializer(many=True), "zh-hans": ReasonSerializer(many=True)},
)


class CallSerializer(serializers.ModelSerializer):
    application = serializers.IntegerField(source="application_id", read_only=True)
    binding = serializers.IntegerField(source="binding_id", read_only=True, allow_null=True)
    caller_num = serializers.SerializerMethodField()
    fwd_dst_num = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()

    class Meta:
        model = CallRecord
        fields = (
            "id",
            "application",
            "binding",
            "subscription_id",
            "session_id",
            "direction",
            "bind_num",
            "caller_num",
            "callee_num",
            "fwd_dst_num",
            "started_at",
            "fwd_answer_time",
            "call_end_time",
            "talk_seconds",
            "billable_minutes",
            "outcome",
            "record_flag",
            "user_data",
            "reasons",
        )
        read_only_fields = fields

    def get_caller_num(self, record: CallRecord) -> str:
        return numbers_for_api(self.context["request"]).show(record.caller_num)

    def get_fwd_dst_num(self, record: CallRecord) -> str:
        return numbers_for_api(self.context["request"]).show(record.fwd_dst_num)

    @extend_schema_field(ReasonsSerializer)
    def get_reasons(self, record: CallRecord) -> dict[str, Any]:
        """Why the call ended as it did, every code read together (billing.explain)."""
        return reasons(record)
