"""What the bindings API answers, and the shape of a create request (for the OpenAPI document).

A create is validated by the mode's create form (:func:`bindings.forms.form_for_mode`), never by
these serializers: :class:`BindingCreateSerializer` only describes the union of the modes' fields
to the schema. Real numbers are shown through the console's one rule (``console.privacy``).
"""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.urls import reverse
from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bindings import modes
from bindings.forms import form_for_mode
from bindings.models import Binding, XNumber
from console.api.serializers import FieldsBuiltOnce, RealNumberField
from console.gateway import result_meaning


def _api_field(field: django_forms.Field) -> serializers.Field:
    """A serializer field describing a form field (type, choices, help) for the schema."""
    common = {"required": False, "help_text": str(field.help_text or field.label or "")}
    if isinstance(field, django_forms.BooleanField):
        return serializers.BooleanField(**common)
    if isinstance(field, django_forms.IntegerField):
        return serializers.IntegerField(**common)
    if isinstance(field, django_forms.ChoiceField):
        return serializers.ChoiceField(choices=[c for c, _l in field.choices], **common)
    return serializers.CharField(allow_blank=True, **common)


def _create_fields() -> dict[str, serializers.Field]:
    fields: dict[str, serializers.Field] = {
        "application": serializers.IntegerField(help_text="The application's id (its mode).")
    }
    for name in modes.NAMES:
        for field_name, field in form_for_mode(name).base_fields.items():
            fields.setdefault(field_name, _api_field(field))
    fields["a_number"].required = True
    return fields


BindingCreateSerializer = type(
    "BindingCreateSerializer",
    (serializers.Serializer,),
    {
        **_create_fields(),
        "__doc__": "A new binding: the fields of its application's mode (lifetimes in minutes).",
    },
)


class BindingModifySerializer(serializers.Serializer):
    """The fields to change (those the binding's mode can change; lifetime in minutes)."""

    order_ref = serializers.CharField(required=False, allow_blank=True)
    cost_tag = serializers.CharField(required=False, allow_blank=True)
    duration = serializers.IntegerField(required=False, help_text="Minutes from now (AX).")
    max_duration = serializers.IntegerField(required=False)
    record_flag = serializers.BooleanField(required=False)
    user_data = serializers.CharField(required=False, allow_blank=True)


# A result code's meaning in each language, keyed by language code ("zh-hans" is no identifier).
MeaningSerializer = type(
    "MeaningSerializer",
    (serializers.Serializer,),
    {"zh-hans": serializers.CharField(), "en": serializers.CharField()},
)


class BindingSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A binding as the API shows it: real numbers masked unless the key has ``numbers:real``."""

    url = serializers.SerializerMethodField()
    application = serializers.IntegerField(source="application_id", read_only=True)
    a_number = RealNumberField()
    b_number = RealNumberField()
    result_meaning = serializers.SerializerMethodField()
    lifetime = serializers.SerializerMethodField()

    class Meta:
        model = Binding
        fields = (
            "id",
            "url",
            "application",
            "mode",
            "status",
            "order_ref",
            "cost_tag",
            "subscription_id",
            "a_number",
            "b_number",
            "x_number",
            "y_number",
            "extension",
            "area_code",
            "lifetime",
            "expires_at",
            "record_flag",
            "user_data",
            "end_reason",
            "last_result_code",
            "last_result_desc",
            "result_meaning",
            "created_at",
            "bound_at",
            "ended_at",
        )
        read_only_fields = fields

    # The columns the answer reads (a GET loads these, not the binding's ~70).
    COLUMNS = (
        *(
            name
            for name in Meta.fields
            if name not in ("url", "application", "result_meaning", "lifetime")
        ),
        "application_id",
        "duration",
    )

    def get_url(self, binding: Binding) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api:binding-detail", args=[binding.pk])
        )

    def get_lifetime(self, binding: Binding) -> int | None:
        """Minutes, as typed on a create."""
        return None if binding.duration is None else binding.duration // 60

    @extend_schema_field(MeaningSerializer(allow_null=True))
    def get_result_meaning(self, binding: Binding) -> dict[str, str] | None:
        code = binding.last_result_code
        if not code or code == "0":
            return None
        return {"zh-hans": result_meaning(code, "zh-hans"), "en": result_meaning(code, "en")}


def language() -> str:
    return get_language() or "en"


class XNumberSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """An X number of the pool (a privacy number: shown in full, it is no one's own)."""

    application = serializers.IntegerField(source="application_id", read_only=True)

    class Meta:
        model = XNumber
        fields = (
            "id",
            "number",
            "application",
            "city_code",
            "province",
            "state",
            "cooling_until",
            "binding_count",
            "platform_status",
            "platform_cause",
            "platform_status_at",
            "resting_until",
            "rest_reason",
            "created_at",
        )
        read_only_fields = fields


class PoolNumbersSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    available = serializers.IntegerField()
    in_use = serializers.IntegerField()
    cooling = serializers.IntegerField()
    retired = serializers.IntegerField()
    resting = serializers.IntegerField(help_text="Rested by the number-health guard now.")
    blocked = serializers.IntegerField(help_text="Platform status other than normal (5).")


class PoolForecastSerializer(serializers.Serializer):
    days_left = serializers.FloatField(
        allow_null=True, help_text="Days the free capacity lasts; null: more than a year."
    )
    wanted_days = serializers.IntegerField(help_text="The application's forecast horizon.")
    to_order = serializers.IntegerField(help_text="Numbers to order to last wanted_days.")


class PoolSerializer(serializers.Serializer):
    """One pool (an application's X numbers in one city), as the pool usage page shows it."""

    application = serializers.IntegerField(source="application_id")
    application_name = serializers.CharField(source="application")
    mode = serializers.CharField()
    city_code = serializers.CharField()
    city_name = serializers.CharField()
    province = serializers.CharField()
    numbers = serializers.SerializerMethodField()
    bindings = serializers.IntegerField(help_text="Live bindings on the pool's numbers.")
    capacity = serializers.IntegerField(help_text="Live bindings the console lets it carry.")
    free = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="Bindings / capacity, %.")
    on_platform = serializers.IntegerField(
        allow_null=True, help_text="AXE: the platform's own count, once every number has one."
    )
    counted_at = serializers.DateTimeField(allow_null=True)
    forecast = serializers.SerializerMethodField()

    @extend_schema_field(PoolNumbersSerializer)
    def get_numbers(self, row: dict[str, Any]) -> dict[str, int]:
        return {name: row[name] for name in PoolNumbersSerializer().fields}

    @extend_schema_field(PoolForecastSerializer)
    def get_forecast(self, row: dict[str, Any]) -> dict[str, Any]:
        return {name: row[name] for name in PoolForecastSerializer().fields}
