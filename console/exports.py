"""Every file the console exports, written so that Excel and WPS open it as it is meant.

* CSV starts with a UTF-8 byte-order mark: without it Excel reads the file in the machine's
  legacy code page and garbles every Chinese character.
* XLSX cells are typed: counts and money are numbers with a number format (so they add up), text
  is text.
* No cell is a live formula. Text a person or the platform typed (an application's name, an
  order reference) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would
  be run by the spreadsheet as a formula (CSV and formula injection, OWASP): such text is
  prefixed with an apostrophe, in both formats, so it shows as typed and never runs.

Tables of django-tables2 export through :class:`TableExport` (``export_class`` of the view); a
table names the kind of each numeric column in ``export_kinds``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django_tables2.export import TableExport as Tables2Export

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT, COUNT, MONEY = "text", "count", "money"
# Excel and WPS number formats of the numeric kinds.
NUMBER_FORMATS = {COUNT: "#,##0", MONEY: "#,##0.00"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralised(value: Any) -> Any:
    """A text cell that cannot run as a formula; numbers and empty cells as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def typed(value: Any, kind: str) -> Any:
    """The cell value of one column kind: a number for counts and money, else neutralised text."""
    if value in (None, ""):
        return None if kind != TEXT else ""
    if kind == COUNT:
        return int(value)
    if kind == MONEY:
        return Decimal(value)
    return neutralised(str(value))


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, one header row, every cell typed and neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralised(str(header)) for header in headers])
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def xlsx_bytes(
    headers: Sequence[str], kinds: Sequence[str], rows: Iterable[Sequence[Any]], title: str
) -> bytes:
    """One sheet: a bold header row, then typed cells with the number format of their kind."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=neutralised(str(header)))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value, kind in zip(row, kinds, strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text is text, whatever it starts with
            elif kind in NUMBER_FORMATS and value is not None:
                cell.number_format = NUMBER_FORMATS[kind]
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def response(content: bytes, export_format: str, filename: str) -> HttpResponse:
    answer = HttpResponse(content, content_type=CONTENT_TYPES[export_format])
    answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    return answer


class TableExport(Tables2Export):
    """django-tables2's export of a table, written by this module (CSV and XLSX only)."""

    def __init__(self, export_format, table, exclude_columns=None, dataset_kwargs=None):
        if export_format not in CONTENT_TYPES:
            raise TypeError(f'Export format "{export_format}" is not supported.')
        self.format = export_format
        exclude = set(exclude_columns or ())
        names = [
            column.name
            for column in table.columns.iterall()
            if not (column.column.exclude_from_export or column.name in exclude)
        ]
        kinds_by_name = getattr(table, "export_kinds", {})
        self.kinds = [kinds_by_name.get(name, TEXT) for name in names]
        values = iter(table.as_values(exclude_columns=exclude_columns))
        self.headers = [str(header) for header in next(values)]
        self.rows = [
            [typed(value, kind) for value, kind in zip(row, self.kinds, strict=True)]
            for row in values
        ]
        self.title = str((dataset_kwargs or {}).get("title", "Export"))

    @classmethod
    def is_valid_format(cls, export_format):
        return export_format in CONTENT_TYPES

    def content_type(self):
        return CONTENT_TYPES[self.format]

    def export(self) -> bytes:
        if self.format == "csv":
            return csv_bytes(self.headers, self.rows)
        return xlsx_bytes(self.headers, self.kinds, self.rows, self.title)

    def response(self, filename=None):
        return response(self.export(), self.format, filename or f"export.{self.format}")
