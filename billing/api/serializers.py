"""Calls, SMS records and statements as the API shows them: calls billed and explained in en and
zh-hans, real numbers masked unless the key has ``numbers:real`` (``console.privacy``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing import services
from billing.choices import CallDirection
from billing.events import reasons
from billing.models import CallRecord, SmsRecord, Statement, Tariff
from console.api.serializers import FieldsBuiltOnce, RealNumberField
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


class CallSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    application = serializers.IntegerField(source="application_id", read_only=True)
    binding = serializers.IntegerField(source="binding_id", read_only=True, allow_null=True)
    caller_num = RealNumberField()
    fwd_dst_num = RealNumberField()
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

    @extend_schema_field(ReasonsSerializer)
    def get_reasons(self, record: CallRecord) -> dict[str, Any]:
        """Why the call ended as it did, every code read together (billing.explain)."""
        return reasons(record)


class SmsSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """An SMS notice with the console's Block decision; the sender, receiver and the party it was
    forwarded to masked, and the message itself left out, unless the key has ``numbers:real``
    (the rule of the pages: the text may carry numbers)."""

    application = serializers.IntegerField(source="application_id", read_only=True)
    binding = serializers.IntegerField(source="binding_id", read_only=True, allow_null=True)
    calling = RealNumberField()
    called = RealNumberField()
    forwarded_to = RealNumberField()
    content = serializers.SerializerMethodField()

    class Meta:
        model = SmsRecord
        fields = (
            "id",
            "application",
            "binding",
            "subscription_id",
            "sms_identifier",
            "notification_mode",
            "calling",
            "called",
            "virtual_number",
            "event",
            "time_stamp",
            "direction",
            "send_result",
            "decision",
            "forwarded_to",
            "content",
            "received_at",
        )
        read_only_fields = fields

    def get_content(self, record: SmsRecord) -> str:
        """Empty unless the key has ``numbers:real``."""
        return numbers_for_api(self.context["request"]).show_text(record.content)


class StatementLineSerializer(serializers.Serializer):
    """One direction of a statement, as the statement page lists it."""

    direction = serializers.IntegerField()
    label = serializers.CharField()
    calls = serializers.IntegerField()
    answered = serializers.IntegerField()
    minutes = serializers.IntegerField()
    package_minutes = serializers.IntegerField()
    excess_minutes = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)
    charge = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)


class TariffSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tariff
        fields = (
            "id",
            "valid_from",
            "price_to_a",
            "price_from_a",
            "price_abnormal",
            "monthly_rent_per_number",
        )
        read_only_fields = fields


class StatementSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A month's bill of one application: the figures of the statement page, money as decimal
    strings (CNY), months in Beijing time."""

    application = serializers.IntegerField(source="application_id", read_only=True)
    month = serializers.SerializerMethodField()
    tariff = TariffSerializer(read_only=True, allow_null=True)
    lines = serializers.SerializerMethodField()
    waits_for_tariff = serializers.SerializerMethodField()

    class Meta:
        model = Statement
        fields = (
            "id",
            "application",
            "month",
            "state",
            "calls",
            "answered_calls",
            "minutes",
            "package_minutes",
            "excess_minutes",
            "call_charges",
            "x_numbers",
            "number_rent",
            "total",
            "tariff",
            "waits_for_tariff",
            "lines",
            "computed_at",
            "closed_at",
        )
        read_only_fields = fields

    def get_month(self, statement: Statement) -> str:
        """``YYYY-MM``."""
        return f"{statement.month:%Y-%m}"

    @extend_schema_field(StatementLineSerializer(many=True))
    def get_lines(self, statement: Statement) -> list[dict[str, Any]]:
        directions = dict(CallDirection.choices)
        return [
            {**line, "label": str(directions.get(line["direction"], line["direction"]))}
            for line in statement.lines
        ]

    def get_waits_for_tariff(self, statement: Statement) -> bool:
        """Open, with something to bill and no tariff in force: its charges are not counted yet."""
        return services.waits_for_tariff(statement)


class PackageDrawnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    minutes = serializers.IntegerField(help_text="Minutes this package gave the month.")


class StatementDetailSerializer(StatementSerializer):
    """One statement with the packages its month drew on, as its page lists them."""

    packages = serializers.SerializerMethodField()

    class Meta(StatementSerializer.Meta):
        fields = (*StatementSerializer.Meta.fields, "packages")
        read_only_fields = fields

    @extend_schema_field(PackageDrawnSerializer(many=True))
    def get_packages(self, statement: Statement) -> list[dict[str, Any]]:
        drawn = [
            {
                "id": package.pk,
                "name": package.name,
                "valid_from": package.valid_from,
                "valid_until": package.valid_until,
                "minutes": minutes,
            }
            for package, minutes in services.packages_drawn(statement)
        ]
        return PackageDrawnSerializer(drawn, many=True).data
