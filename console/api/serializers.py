"""What every API serializer shares."""

from __future__ import annotations

import copy


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
