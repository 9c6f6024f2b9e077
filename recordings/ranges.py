"""HTTP byte ranges (RFC 9110 §14) for serving recordings: what the ``Range`` header asks for.

Browsers seek in an ``<audio>`` element by asking for ``bytes=N-``. One range is served as a 206;
a header that cannot be parsed, or one with several ranges, is ignored (the whole file is sent, as
the RFC allows); a range that starts beyond the end is a 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


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


def parse(header: str | None, size: int) -> ByteRange | None:
    """The single range asked for, None to send the whole file; raise RangeNotSatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None  # several ranges, or not a byte range we understand: send everything
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignored, like an unknown unit
    if start >= size:
        raise RangeNotSatisfiable(header)
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1), size)
