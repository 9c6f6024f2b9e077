"""What every API serializer shares."""

from __future__ import annotations

import copy

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from console.privacy import numbers_for_api


class FieldsBuiltOnce:
    """A ``ModelSerializer`` whose fields are built from the model once per class, not on every
    request: DRF's ``ModelSerializer.get_fields`` introspects each model field again for every
    serializer it makes (about a fifth of a GET's CPU). Each instance still gets its own copies,
    as DRF's own ``Serializer.get_fields`` gives (fields are bound to their parent)."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return copy.deepcopy(built)


@extend_schema_field(OpenApiTypes.STR)
class RealNumberField(serializers.Field):
    """A real phone number, read only, shown through the one masking rule: masked unless the
    request's key may see real numbers (``console.privacy.numbers_for_api``, which audits a
    reveal once per request)."""

    def __init__(self, **kwargs) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str:
        return numbers_for_api(self.context["request"]).show(value)
