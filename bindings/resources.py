"""Importing X numbers from CSV/XLSX with django-import-export (preview, per-row errors).

Columns: ``number`` and ``city_code`` (required), ``application`` (optional: the APP_Key or name;
when present it must be the application chosen on the import page). A row is refused, with the
reason shown on its line of the preview, when its number is not a valid mainland mobile number,
its city code is unknown, the number appears twice in the file or is already in a pool, or it
names another application.

The resource is run by a Celery task (``bindings.services.validate_number_import`` and
``run_number_import``), never in a web request. It is built for files of tens of thousands of
rows: :meth:`XNumberResource.before_import` normalises the file's numbers once and finds the ones
already in a pool with one query per ``LOOKUP_CHUNK`` numbers (not one per row); new numbers are
written with ``bulk_create`` in batches of ``batch_size``; the dry run writes nothing at all. The
unique constraint on ``XNumber.number`` stays the last guard against a concurrent import of the
same number (the task turns its error into a message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources

from bindings.cities import city
from bindings.models import XNumber
from console.numbers import InvalidNumber, is_mobile, normalize

LOOKUP_CHUNK = 5000


class XNumberResource(resources.ModelResource):
    """One X number per row, into the application chosen on the import form.

    ``progress``, when given, is called with the number of rows read so far every
    ``progress_every`` rows (the task publishes it for the progress page).
    """

    number = fields.Field(attribute="number", column_name="number")
    city_code = fields.Field(attribute="city_code", column_name="city_code")
    province = fields.Field(attribute="province", column_name="province", readonly=True)

    class Meta:
        model = XNumber
        fields = ("number", "city_code", "province")
        import_id_fields = ("number",)
        skip_unchanged = False
        report_skipped = True
        # No HTML diff per row (the preview lists the refused rows itself), and no per-row
        # "does it exist?" query: before_import already knows every number that exists, and
        # before_import_row refuses those rows, so each remaining row is a new number.
        skip_diff = True
        force_init_instance = True
        use_bulk = True
        batch_size = 1000

    def __init__(
        self,
        application=None,
        progress: Callable[[int], None] | None = None,
        progress_every: int = 500,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.application = application
        self.progress = progress
        self.progress_every = progress_every
        self._seen: dict[str, int] = {}
        self._normalized: dict[str, str | InvalidNumber] = {}
        self._existing: dict[str, tuple[int, str]] = {}
        self._rows_read = 0

    # --- once per file ------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs: Any) -> None:
        self._seen = {}
        self._rows_read = 0
        if self.application is None:
            self.application = kwargs.get("application")
        missing = [c for c in ("number", "city_code") if c not in (dataset.headers or [])]
        if missing:
            raise ValidationError(
                _("The file needs the columns: %(columns)s.") % {"columns": ", ".join(missing)}
            )
        self._normalized = {}
        for value in dataset["number"]:
            self._normalize(str(value if value is not None else "").strip())
        numbers = sorted({n for n in self._normalized.values() if isinstance(n, str)})
        self._existing = {}
        for start in range(0, len(numbers), LOOKUP_CHUNK):
            found = XNumber.objects.filter(number__in=numbers[start : start + LOOKUP_CHUNK])
            for number, application_id, name in found.values_list(
                "number", "application_id", "application__name"
            ):
                self._existing[number] = (application_id, name)

    def _normalize(self, typed: str) -> str | InvalidNumber:
        """The E.164 form of ``typed``, or the InvalidNumber that says why not (cached)."""
        if typed not in self._normalized:
            try:
                self._normalized[typed] = normalize(typed)
            except InvalidNumber as error:
                self._normalized[typed] = error
        return self._normalized[typed]

    # --- per row ------------------------------------------------------------------------------

    def import_row(self, row, instance_loader, **kwargs: Any):
        result = super().import_row(row, instance_loader, **kwargs)
        self._rows_read += 1
        if self.progress is not None and self._rows_read % self.progress_every == 0:
            self.progress(self._rows_read)
        return result

    def before_import_row(self, row, **kwargs: Any) -> None:
        application = self.application or kwargs.get("application")
        errors: dict[str, list[str]] = {}
        typed = str(row.get("number") if row.get("number") is not None else "").strip()
        number = self._normalize(typed)
        if isinstance(number, InvalidNumber):
            errors["number"] = list(number.messages)
            number = ""
        elif not is_mobile(number):
            errors["number"] = [
                _("“%(number)s” is a fixed line; X numbers are mobile-format numbers.")
                % {"number": typed}
            ]
        code = str(row.get("city_code") if row.get("city_code") is not None else "").strip()
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
                existing = self._existing.get(number)
                if existing is not None and application is not None:
                    owner_id, owner_name = existing
                    if owner_id != application.pk:
                        errors["application"] = [
                            _("Wrong application: %(number)s belongs to %(app)s.")
                            % {"number": number, "app": owner_name}
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

    # --- writing --------------------------------------------------------------------------------

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if dry_run:
            # The preview writes nothing: no INSERT that the transaction would roll back anyway.
            self.create_instances.clear()
            return
        super().bulk_create(
            using_transactions, dry_run, raise_errors, batch_size=batch_size, result=result
        )

    def after_import(self, dataset, result, **kwargs: Any) -> None:
        # Not ModelResource.after_import: it resets the id sequence to MAX(id) (for files that
        # carry ids, which ours never do), and under concurrent inserts elsewhere that can set the
        # sequence back below ids already handed out.
        if self.progress is not None and self._rows_read % self.progress_every:
            self.progress(self._rows_read)  # the last rows, unless just reported
