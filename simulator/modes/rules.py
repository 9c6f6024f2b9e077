"""The rules of one mode over the shared pool: what every ``simulator/modes/<mode>.py`` provides.

A mode's rules answer the interfaces the mode table (:mod:`privatenumber.modes`) gives the mode,
route the calls and SMS that reach one of its numbers, and say what goes with one of its bindings
when it is deleted. Facts of the platform (URIs, parameters, capacity, lifetimes, codes) are read
from the table; how the simulator stores and finds bindings is here and in the pool.
"""

from __future__ import annotations

import sqlite3
from typing import ClassVar

from privatenumber.modes import Interface, Mode
from simulator.exchange import InterfaceHandler
from simulator.modes.pool import Pool
from simulator.routing import NO_BINDING, CallRoute, Outcome, SmsRoute


class ModeRules:
    """What the platform does in one mode (``mode``, an entry of the mode table).

    ``kinds`` are the kinds of binding rows the mode keeps in the pool; ``call_kind`` is the kind
    whose rows bulk calls go through (None: the mode has no bindings to call through).
    """

    mode: ClassVar[Mode]
    kinds: ClassVar[tuple[str, ...]] = ()
    call_kind: ClassVar[str | None] = None

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.store = pool.store

    @property
    def no_binding(self) -> Outcome:
        """How a call ends that finds no binding of this mode (the table's ``unbound_call``)."""
        return NO_BINDING[self.mode.name]

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        """The handler of each of the mode's own interfaces (the server routes to them)."""
        return {}

    def route_call(self, db: sqlite3.Connection, route: CallRoute) -> None:
        """Route a call to one of the mode's numbers: set its binding, callee and failure."""

    def route_sms(
        self, db: sqlite3.Connection, x: str, sender: str, content: str
    ) -> SmsRoute | None:
        """The route of an SMS to X (None: no binding carries it)."""
        return None

    def bulk_parties(self, row: sqlite3.Row, index: int) -> tuple[str, str, str | None]:
        """Caller, dialled number and extension of the ``index``-th bulk call through ``row``.

        Only asked of a mode with a ``call_kind``.
        """
        raise NotImplementedError

    def forget(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """What goes with one of the mode's bindings when it is deleted, besides its row."""
