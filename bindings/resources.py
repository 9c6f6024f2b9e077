"""Importing X numbers from CSV/XLSX with django-import-export (preview, per-row errors).

Columns: ``number`` and ``city_code`` (required), ``application`` (optional: the APP_Key or name;
when present it must be the application chosen on the import page). A row is refused, with the
reason shown on its line of the preview, when its number is not a valid mainland mobile number,
its city code is unknown, the number appears twice in the file or is already in a pool, or it
names another application.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources

from bindings.cities import city
from bindings.models import XNumber
from console.numbers import InvalidNumber, is_mobile, normalize


class XNumberResource(resources.ModelResource):
    """One X number per row, into the application chosen on the import form."""

    number = fields.Field(attribute="number", column_name="number")
    city_code = fields.Field(attribute="city_code", column_name="city_code")
    province = fields.Field(attribute="province", column_name="province", readonly=True)

    class Meta:
        model = XNumber
        fields = ("number", "city_code", "province")
        import_id_fields = ("number",)
        skip_unchanged = False
        report_skipped = True
        use_bulk = False

    def __init__(self, application=None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.application = application
        self._seen: dict[str, int] = {}

    def before_import(self, dataset, **kwargs: Any) -> None:
        self._seen = {}
        if self.application is None:
            self.application = kwargs.get("application")
        missing = [c for c in ("number", "city_code") if c not in (dataset.headers or [])]
        if missing:
            raise ValidationError(
                _("The file needs the columns: %(columns)s.") % {"columns": ", ".join(missing)}
            )

    def before_import_row(self, row, **kwargs: Any) -> None:
        application = self.application or kwargs.get("application")
        errors: dict[str, list[str]] = {}
        typed = str(row.get("number") or "").strip()
        number = ""
        try:
            number = normalize(typed)
            if not is_mobile(number):
                errors["number"] = [
                    _("“%(number)s” is a fixed line; X numbers are mobile-format numbers.")
                    % {"number": typed}
                ]
        except InvalidNumber as error:
            errors["number"] = list(error.messages)
        code = str(row.get("city_code") or "").strip()
        if code.isdigit() and not code.startswith("0"):
            code = "0" + code  # spreadsheets drop the leading 0 of 0755
        found = city(code)
        if found is None:
            errors["city_code"] = [
                _("Unknown city code “%(code)s” (expected like 0755 or 010).") % {"code": code}
            ]
        named = str(row.get("application") or "").strip()
        if (
            named
            and application is not None
            and named
            not in (
                application.app_key,
                application.name,
            )
        ):
            errors["application"] = [
                _("Wrong application: the row names “%(named)s”, the import is for %(app)s.")
                % {"named": named, "app": application.name}
            ]
        if number and "number" not in errors:
            row_number = kwargs.get("row_number")
            if number in self._seen:
                errors["number"] = [
                    _("Duplicate: %(number)s is also on row %(row)s of this file.")
                    % {"number": number, "row": self._seen[number]}
                ]
            else:
                self._seen[number] = row_number
                existing = (
                    XNumber.objects.filter(number=number).select_related("application").first()
                )
                if existing is not None and application is not None:
                    if existing.application_id != application.pk:
                        errors["application"] = [
                            _("Wrong application: %(number)s belongs to %(app)s.")
                            % {"number": number, "app": existing.application.name}
                        ]
                    else:
                        errors["number"] = [
                            _("Duplicate: %(number)s is already in this pool.") % {"number": number}
                        ]
        if errors:
            raise ValidationError(errors)
        row["number"] = number
        row["city_code"] = found.code
        row["province"] = found.province

    def import_instance(self, instance, row, **kwargs: Any) -> None:
        super().import_instance(instance, row, **kwargs)
        instance.province = row["province"]
        application = self.application or kwargs.get("application")
        if application is not None:
            instance.application = application
