"""Request validation with the platform's answer: 1010002 naming the first bad parameter.

JSON bodies are typed (an Integer field must be a JSON integer); query strings carry text, so their
integers are parsed from digits. Phone numbers are checked loosely on purpose: the platform accepts
any digit string and only the calls fail when it is not in global format (spec §1.2), which
:func:`is_global_number` lets the call engine reproduce.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simulator import unconfirmed
from simulator.results import invalid, missing, unsupported

# What the platform takes as a number at all (digits, optional +); the rest is 1010002.
_NUMBERISH_RE = re.compile(r"^\+?\d{3,31}$")
# Mainland global format: +86 then a mobile number or an area code without 0 and a local number.
_GLOBAL_RE = re.compile(r"^\+86(1[3-9]\d{9}|(10|2\d|[3-9]\d\d)\d{7,8})$")
_NO_BRACES_RE = re.compile(r"[{}\u4e00-\u9fff]")


def is_global_number(number: str) -> bool:
    """Whether a number is in the platform's mainland global format (``+86...``)."""
    return bool(_GLOBAL_RE.match(number))


class Fields:
    """Typed access to one request's parameters; every getter raises 1010002 naming the field."""

    def __init__(self, data: Mapping[str, Any], *, from_query: bool = False) -> None:
        self.data = data
        self.from_query = from_query

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        min_len: int = 1,
        max_len: int = 256,
        choices: tuple[str, ...] | None = None,
        pattern: re.Pattern[str] | None = None,
    ) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise missing(name)
            return None
        if not isinstance(value, str) or not min_len <= len(value) <= max_len:
            raise invalid(name)
        if choices is not None and value not in choices:
            raise invalid(name)
        if pattern is not None and not pattern.match(value):
            raise invalid(name)
        return value

    def user_data(self, name: str = "userData") -> str | None:
        """``userData``: 1-256 characters, no braces and no Chinese characters."""
        value = self.string(name, max_len=256)
        if value is not None and _NO_BRACES_RE.search(value):
            raise invalid(name)
        return value

    def flag(self, name: str) -> str | None:
        """A ``"true"``/``"false"`` string enum (``recordFlag`` also as a JSON boolean)."""
        value = self.data.get(name)
        if (
            isinstance(value, bool)
            and name == "recordFlag"
            and unconfirmed.RECORD_FLAG_ACCEPTS_BOOLEAN
            and not self.from_query
        ):
            return "true" if value else "false"
        return self.string(name, choices=("true", "false"))

    def only(self, known: frozenset[str]) -> None:
        """Refuse the first parameter the interface does not have (1010002 naming it)."""
        for name in self.data:
            if name not in known:
                raise unsupported(name)

    def integer(
        self, name: str, *, required: bool = False, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        value = self.data.get(name)
        if value is None or (self.from_query and value == ""):
            if required:
                raise missing(name)
            return None
        if self.from_query and isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(name)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise invalid(name)
        return value

    def number(self, name: str, *, required: bool = False) -> str | None:
        """A phone number: any digit string of sane length (format problems show up in calls)."""
        value = self.data.get(name)
        if value is None or (self.from_query and value == ""):
            if required:
                raise missing(name)
            return None
        if not isinstance(value, str) or not _NUMBERISH_RE.match(value):
            raise invalid(name)
        return value

    def req_number(self, name: str) -> str:
        """A required phone number."""
        value = self.number(name, required=True)
        assert value is not None  # number(required=True) raised otherwise
        return value

    def req_string(self, name: str, **rules: Any) -> str:
        """A required string (``rules`` as for :meth:`string`)."""
        value = self.string(name, required=True, **rules)
        assert value is not None  # string(required=True) raised otherwise
        return value

    def obj(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(name)
        return value

    def play_info(self, name: str = "preVoice") -> dict[str, str] | None:
        """ApiPlayInfo: optional callerHintTone / calleeHintTone, 0-128 characters each."""
        value = self.obj(name)
        if value is None:
            return None
        inner = Fields(value)
        result = {}
        for key in ("callerHintTone", "calleeHintTone"):
            tone = inner.string(key, min_len=0, max_len=128)
            if tone is not None:
                result[key] = tone
        return result
