"""What routing decides: how a call ends, the failures routing finds, the route of a call or SMS.

The call engine (:mod:`simulator.calls`) and the SMS engine (:mod:`simulator.sms`) ask the rules
of the number's mode (``simulator/modes``) to route; the rules answer in these terms. The codes
are the platform's: hang-up causes (spec §8), release points (§9) and Q.850 causes (§10).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from privatenumber.modes import MODES
from simulator import unconfirmed
from simulator.config import AppConfig


@dataclass(frozen=True)
class Outcome:
    """How a call ends: the stages it reaches and the three codes that explain its end.

    ``cause`` is the hang-up cause of the disconnect event (§8), ``release`` the CDR's release point
    ``ulFailReason`` (§9), ``q850`` the CDR's ``fwdUnaswRsn`` (§10), ``sip`` its ``sipStatusCode``.
    """

    stages: tuple[str, ...]
    cause: int
    release: int
    q850: int = 0
    sip: int = 0


# Outcomes a test can ask for. The callee-side codes 8102-8105 follow the VoiceCall meanings
# the spec adopts for the unreadable tail of the release-point table (§9).
OUTCOMES: dict[str, Outcome] = {
    "answered": Outcome(("callout", "alerting", "answer"), 0, 0),
    "busy": Outcome(("callout",), 8102, 8102, 17, 486),
    "no_answer": Outcome(("callout", "alerting"), 8101, 8101, 19, 480),
    "rejected": Outcome(("callout", "alerting"), 7503, 7503, 21, 603),
    "power_off": Outcome(("callout",), 8104, 8104, 20, 480),
    "unreachable": Outcome(("callout",), 8103, 8103, 18, 480),
    "not_exist": Outcome(("callout",), 8100, 8100, 1, 404),
    "suspended": Outcome(("callout",), 8105, 8105, 27, 480),
    "caller_hangup": Outcome(("callout",), 7501, 7501, 16, 487),
    "caller_hangup_ringing": Outcome(("callout", "alerting"), 7502, 7502, 16, 487),
    "timeout": Outcome(("callout", "alerting"), 8035, 8035, 102, 408),
}


def fail(cause: int, release: int | None = None) -> Outcome:
    """A call the platform itself releases before any forwarding (callin, then disconnect)."""
    return Outcome((), cause, cause if release is None else release)


# Failures found by routing, with their hang-up cause and release point.
NO_BINDING = {name: fail(*mode.unbound_call) for name, mode in MODES.items()}
DIRECTION_REFUSED = fail(8016)
X_UNAVAILABLE = fail(8055)
AX_NO_CALLEE = fail(8013)
AX_TURNED_OFF = fail(unconfirmed.AX_TURNED_OFF_CAUSE)
AXE_NO_CALLBACK = fail(8019)
AXE_EMPTY_EXTENSION = fail(8033)
AXYB_SELF = fail(8032, 8020)
AXYB_NO_Y = fail(8031, 8020)
MALFORMED_NUMBER = Outcome(("callout",), 8014, 7506, 28, 484)
MAX_DURATION_REACHED = 8010


def stranger() -> str:
    """A caller no binding knows (bulk calls to an X that anyone may call)."""
    return f"+86139{secrets.randbelow(10**8):08d}"


@dataclass
class CallRoute:
    """What the platform decided for one call."""

    app: AppConfig
    caller: str
    dialled: str
    callee: str | None = None
    display: str | None = None
    binding_id: str | None = None
    direction: int = 2
    user_data: str | None = None
    record: bool = False
    max_minutes: int = 0
    ext: str | None = None
    failure: Outcome | None = None

    def use(self, row: sqlite3.Row, data: dict[str, Any]) -> None:
        """Go through this binding: its id, its userData, its recording and its maxDuration."""
        self.binding_id = row["id"]
        self.user_data = data.get("userData")
        self.record = self.app.record and data.get("recordFlag") == "true"
        self.max_minutes = int(data.get("maxDuration") or 0)


@dataclass(frozen=True)
class SmsRoute:
    """Where an SMS to an X goes: the binding that carries it and whom it reaches.

    ``called`` None: the platform cannot tell and asks the customer (a Block notice).
    ``content`` is what is forwarded (the platform may add to it or take from it).
    """

    binding: sqlite3.Row
    called: str | None
    content: str
