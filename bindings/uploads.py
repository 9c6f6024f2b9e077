"""Reading uploaded files (X-number imports, bulk bindings) within limits, stopping at the first.

A file is refused, with a message that names the limit, as soon as one is passed: its size; for an
XLSX file (a zip) the parts it unpacks to, their total size and how much larger each is than it
is stored (checked from the zip's directory before anything is unpacked: Python's zipfile never
unpacks a part past the size its directory declares); the rows read, empty ones included (an XLSX
file of 700 KB declared five million empty rows); the characters of a cell; the columns of a row.
Rows are read lazily, so the reading stops where the file is refused. The upload request reads
the file once to refuse it early, and the worker reads it again under the same limits.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

# An XLSX file has a dozen parts; a sheet compresses about 15 times (a 50,000-row import).
MAX_ZIP_PARTS = 1000
RATIO_CHECKED_ABOVE = 1024 * 1024  # tiny parts (styles, themes) may compress better


class UploadRefused(Exception):
    """A file that passed a limit; ``message`` names it, in the active language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What one upload may hold."""

    max_bytes: int
    max_rows: int
    max_cell_chars: int = 256
    max_columns: int = 20
    max_unpacked_bytes: int = 40 * 1024 * 1024
    max_ratio: int = 100

    @classmethod
    def number_import(cls) -> Limits:
        return cls(
            max_bytes=settings.BINDINGS_IMPORT_MAX_BYTES,
            max_rows=settings.BINDINGS_IMPORT_MAX_ROWS,
            max_cell_chars=settings.UPLOAD_MAX_CELL_CHARS,
            max_columns=settings.UPLOAD_MAX_COLUMNS,
            max_unpacked_bytes=settings.UPLOAD_MAX_UNPACKED_BYTES,
            max_ratio=settings.UPLOAD_MAX_UNPACK_RATIO,
        )

    @classmethod
    def bulk_bind(cls) -> Limits:
        return cls(
            max_bytes=settings.BINDINGS_BULK_MAX_BYTES,
            max_rows=settings.BINDINGS_BULK_MAX_ROWS,
            max_cell_chars=settings.UPLOAD_MAX_CELL_CHARS,
            max_columns=settings.UPLOAD_MAX_COLUMNS,
        )


def check_size(size: int, limits: Limits) -> None:
    """Refuse a file over ``max_bytes`` (before it is read, when its size is known)."""
    if size > limits.max_bytes:
        raise UploadRefused(
            _("The file has %(size)s bytes; at most %(max)s are accepted at a time.")
            % {"size": size, "max": limits.max_bytes}
        )


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: what Excel on a Chinese Windows saves."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError:
            raise UploadRefused(_("The file is neither UTF-8 nor GB18030 text.")) from None


def _checked(rows: Iterator[list[Any]], limits: Limits) -> Iterator[list[Any]]:
    """``rows`` (header first), refused at the first row past a limit."""
    for index, row in enumerate(rows):
        if index > limits.max_rows:  # the header plus max_rows rows, empty ones counted
            raise UploadRefused(
                _(
                    "The file has more than %(max)s rows (empty rows count too); at most %(max)s "
                    "are accepted at a time."
                )
                % {"max": limits.max_rows}
            )
        if len(row) > limits.max_columns:
            raise UploadRefused(
                _("Row %(row)s has %(count)s columns; at most %(max)s are accepted.")
                % {"row": index + 1, "count": len(row), "max": limits.max_columns}
            )
        for column, value in enumerate(row, start=1):
            if value is not None and len(str(value)) > limits.max_cell_chars:
                raise UploadRefused(
                    _(
                        "Row %(row)s, column %(column)s has %(length)s characters; at most "
                        "%(max)s are accepted in a cell."
                    )
                    % {
                        "row": index + 1,
                        "column": column,
                        "length": len(str(value)),
                        "max": limits.max_cell_chars,
                    }
                )
        yield row


def csv_rows(text: str, limits: Limits) -> Iterator[list[str]]:
    """The rows of a CSV text, header first, within ``limits`` (blank lines are rows too)."""
    return _checked(csv.reader(io.StringIO(text)), limits)


def _check_zip(content: bytes, limits: Limits) -> None:
    """Refuse an XLSX whose parts would unpack past the limits, from the zip's directory only."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError) as error:
        raise UploadRefused(
            _("The file could not be read as %(format)s: %(error)s")
            % {"format": "XLSX", "error": error}
        ) from None
    if len(parts) > MAX_ZIP_PARTS:
        raise UploadRefused(
            _("The file has %(count)s parts; an XLSX file has at most %(max)s.")
            % {"count": len(parts), "max": MAX_ZIP_PARTS}
        )
    total = sum(part.file_size for part in parts)
    if total > limits.max_unpacked_bytes:
        raise UploadRefused(
            _(
                "The file unpacks to %(size)s bytes (an XLSX file is a zip); at most %(max)s are "
                "accepted."
            )
            % {"size": total, "max": limits.max_unpacked_bytes}
        )
    for part in parts:
        if part.file_size <= RATIO_CHECKED_ABOVE:
            continue
        ratio = part.file_size / max(part.compress_size, 1)
        if ratio > limits.max_ratio:
            raise UploadRefused(
                _(
                    "The part %(part)s of the file unpacks %(ratio)s times larger than it is "
                    "stored; at most %(max)s times is accepted."
                )
                % {"part": part.filename[:100], "ratio": int(ratio), "max": limits.max_ratio}
            )


def xlsx_rows(content: bytes, limits: Limits) -> Iterator[list[Any]]:
    """The rows of an XLSX file's first sheet, header first, within ``limits``.

    The zip is checked first; openpyxl then reads the sheet as a stream (read-only mode), the
    first ``max_columns`` columns only.
    """
    _check_zip(content, limits)
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        rows = book.active.iter_rows(max_col=limits.max_columns, values_only=True)
        for row in _checked((list(row) for row in rows), limits):
            # A number typed as such may come back as 17000000001.0.
            yield [int(v) if isinstance(v, float) and v.is_integer() else v for v in row]
    finally:
        book.close()


def file_rows(file_format: str, content: bytes, limits: Limits) -> Iterator[list[Any]]:
    """The rows of a CSV or XLSX upload, header first, lazily and within ``limits``."""
    check_size(len(content), limits)
    if file_format == "csv":
        return csv_rows(decode_text(content), limits)
    return xlsx_rows(content, limits)
