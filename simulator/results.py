"""Result codes as the simulator answers them: the HTTP status and English text of each code.

Texts and statuses come from :mod:`privatenumber.codes` (the project's one table of spec §7), so
the simulator and the client can never disagree about them.
"""

from __future__ import annotations

from privatenumber import codes
from simulator import unconfirmed


def _lookup(code: str) -> tuple[int, str] | None:
    known = codes.RESULT_CODES.get(code)
    return (known.http_status, known.en) if known else None


class PlatformError(Exception):
    """A refusal the platform answers with a result code (and the HTTP status of that code)."""

    def __init__(self, code: str, desc: str | None = None) -> None:
        self.code = code
        self.desc = desc or text_of(code)
        super().__init__(f"{code}: {self.desc}")

    @property
    def http_status(self) -> int:
        return http_status_of(self.code)

    def body(self) -> dict[str, str]:
        return {"resultcode": self.code, "resultdesc": self.desc}


def http_status_of(code: str) -> int:
    """The HTTP status the platform sends with ``code``; unknown codes are business refusals."""
    known = _lookup(code)
    return known[0] if known else 403


def text_of(code: str) -> str:
    known = _lookup(code)
    return known[1] if known else "Unknown error."


def invalid(name: str) -> PlatformError:
    """1010002 naming the bad parameter."""
    return PlatformError("1010002", unconfirmed.INVALID_PARAM_DESC.format(name=name))


def unsupported(name: str) -> PlatformError:
    """1010002 naming a parameter the interface does not have (a misnamed or unknown field)."""
    return PlatformError("1010002", unconfirmed.UNKNOWN_PARAM_DESC.format(name=name))


def missing(name: str) -> PlatformError:
    """1010002 naming the missing parameter."""
    return PlatformError("1010002", unconfirmed.MISSING_PARAM_DESC.format(name=name))
