"""HTTP byte ranges (RFC 9110 §14) for serving recordings: what the ``Range`` header asks for.

Browsers seek in an ``<audio>`` element by asking for ``bytes=N-``. One range is served as a 206;
a header with several ranges, or in another unit, is ignored (the whole file is sent, as the RFC
allows); a byte range that starts beyond the end, or that cannot be read (``bytes=abc``,
``bytes=9-1``, ``bytes=-``), is a 416. Numbers longer than any file size (a 5,000-digit one, which
Python refuses to convert) are read as "beyond the end", never converted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BYTES = re.compile(r"^\s*bytes\s*=(.*)$", re.IGNORECASE | re.DOTALL)
_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
# No file is anywhere near 10^18 bytes: longer numbers stand for "beyond any end".
_HUGE = 10**18


class RangeNotSatisfiable(ValueError):
    """The request asks only for bytes the file does not have (answer 416)."""


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def _number(digits: str) -> int:
    return int(digits) if len(digits) < 19 else _HUGE


def parse(header: str | None, size: int) -> ByteRange | None:
    """The single range asked for, None to send the whole file; raise RangeNotSatisfiable."""
    if not header:
        return None
    unit = _BYTES.match(header)
    if unit is None:
        return None  # not a byte range: send everything
    spec = unit.group(1)
    if "," in spec:
        return None  # several ranges: send everything (the RFC allows it)
    match = _SPEC.match(spec)
    if match is None:
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable(header)
    if not first:
        suffix = _number(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = _number(first)
    end = _number(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, size - 1), size)
