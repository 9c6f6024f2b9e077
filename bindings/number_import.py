"""Checking and importing X numbers from CSV/XLSX rows: each bad row refused with its reasons.

Columns: ``number`` and ``city_code`` (required), ``application`` (optional: the APP_Key or name;
when present it must be the application chosen on the import page). A row is refused, with the
reason shown on its line of the preview, when its number is not a valid mainland mobile number,
its city code is unknown, the number appears twice in the file or is already in a pool, or it
names another application.

Run by Celery tasks (``bindings.services.validate_number_import`` and ``run_number_import``),
never in a web request, on the rows ``bindings.uploads`` read as the file streamed in. Built for
files of tens of thousands of rows: :meth:`NumberImporter.check` normalises the file's numbers
once and finds the ones already in a pool with one query per ``LOOKUP_CHUNK`` numbers (not one per
row); :meth:`NumberImporter.write` inserts the new numbers with ``bulk_create`` in batches of
``BATCH_SIZE``; the preview writes nothing. The unique constraint on ``XNumber.number`` stays the
last guard against a concurrent import of the same number (the task turns its error into a
message). This is the whole importer: django-import-export, which this replaced, only looped over
the rows around these checks (issue 18).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from bindings.cities import city
from bindings.models import XNumber
from console.models import Application
from console.numbers import InvalidNumber, is_mobile, normalize

LOOKUP_CHUNK = 5000
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Refused:
    """A row that will not be imported: its number in the file (1 = the first under the header)
    and every reason, in words."""

    row: int
    message: str


@dataclass
class Checked:
    """What a file holds: the new numbers (not saved yet) and the refused rows, in file order."""

    new: list[XNumber] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


class NumberImporter:
    """Checks a file's rows for one application, then writes its new numbers.

    ``progress``, when given, is called with the number of rows read so far every
    ``progress_every`` rows, and once at the end (the task publishes it for the progress page).
    """

    def __init__(
        self,
        application: Application,
        progress: Callable[[int], None] | None = None,
        progress_every: int = 500,
    ) -> None:
        self.application = application
        self.progress = progress
        self.progress_every = progress_every
        self._normalized: dict[str, str | InvalidNumber] = {}

    def check(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Checked:
        """Every row checked against the file, the pools and the application; nothing written."""
        rows = [dict(zip(headers, row, strict=False)) for row in rows]
        existing = self._existing(_text(row.get("number")) for row in rows)
        checked = Checked()
        seen: dict[str, int] = {}
        read = 0
        for number, row in enumerate(rows, 1):
            errors = self._row_errors(row, number, seen, existing)
            if errors:
                message = " ".join(str(text) for texts in errors.values() for text in texts)
                checked.refused.append(Refused(number, message))
            else:
                checked.new.append(self._instance(row))
            read += 1
            if self.progress is not None and read % self.progress_every == 0:
                self.progress(read)
        if self.progress is not None and read % self.progress_every:
            self.progress(read)  # the last rows, unless just reported
        return checked

    def write(self, checked: Checked) -> int:
        """Insert the new numbers, batch by batch; returns how many. Run it in a transaction:
        ``IntegrityError`` (a number added elsewhere meanwhile) must roll the whole file back."""
        for start in range(0, len(checked.new), BATCH_SIZE):
            XNumber.objects.bulk_create(checked.new[start : start + BATCH_SIZE])
        return len(checked.new)

    # --- the checks -----------------------------------------------------------------------------

    def _normalize(self, typed: str) -> str | InvalidNumber:
        """The E.164 form of ``typed``, or the InvalidNumber that says why not (cached)."""
        if typed not in self._normalized:
            try:
                self._normalized[typed] = normalize(typed)
            except InvalidNumber as error:
                self._normalized[typed] = error
        return self._normalized[typed]

    def _existing(self, typed: Iterable[str]) -> dict[str, tuple[int, str]]:
        """The file's numbers already in a pool: number → (application id, application name)."""
        numbers = sorted({n for n in map(self._normalize, typed) if isinstance(n, str)})
        existing: dict[str, tuple[int, str]] = {}
        for start in range(0, len(numbers), LOOKUP_CHUNK):
            found = XNumber.objects.filter(number__in=numbers[start : start + LOOKUP_CHUNK])
            for number, application_id, name in found.values_list(
                "number", "application_id", "application__name"
            ):
                existing[number] = (application_id, name)
        return existing

    def _row_errors(
        self,
        row: dict[str, Any],
        row_number: int,
        seen: dict[str, int],
        existing: dict[str, tuple[int, str]],
    ) -> dict[str, list[str]]:
        """What is wrong with one row, by column (empty: it is a new number); a good row's values
        are replaced by their stored forms."""
        application = self.application
        errors: dict[str, list[str]] = {}
        typed = _text(row.get("number"))
        number = self._normalize(typed)
        if isinstance(number, InvalidNumber):
            errors["number"] = list(number.messages)
            number = ""
        elif not is_mobile(number):
            errors["number"] = [
                _("“%(number)s” is a fixed line; X numbers are mobile-format numbers.")
                % {"number": typed}
            ]
        code = _text(row.get("city_code"))
        if code.isdigit() and not code.startswith("0"):
            code = "0" + code  # spreadsheets drop the leading 0 of 0755
        found = city(code)
        if found is None:
            errors["city_code"] = [
                _("Unknown city code “%(code)s” (expected like 0755 or 010).") % {"code": code}
            ]
        named = _text(row.get("application"))
        if named and named not in (application.app_key, application.name):
            errors["application"] = [
                _("Wrong application: the row names “%(named)s”, the import is for %(app)s.")
                % {"named": named, "app": application.name}
            ]
        if number and "number" not in errors:
            if number in seen:
                errors["number"] = [
                    _("Duplicate: %(number)s is also on row %(row)s of this file.")
                    % {"number": number, "row": seen[number]}
                ]
            else:
                seen[number] = row_number
                owner = existing.get(number)
                if owner is not None and owner[0] != application.pk:
                    errors["application"] = [
                        _("Wrong application: %(number)s belongs to %(app)s.")
                        % {"number": number, "app": owner[1]}
                    ]
                elif owner is not None:
                    errors["number"] = [
                        _("Duplicate: %(number)s is already in this pool.") % {"number": number}
                    ]
        if not errors:
            row.update(number=number, city_code=found.code, province=found.province)
        return errors

    def _instance(self, row: dict[str, Any]) -> XNumber:
        return XNumber(
            application=self.application,
            number=row["number"],
            city_code=row["city_code"],
            province=row["province"],
        )


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip()
