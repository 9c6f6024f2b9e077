"""The simulated platform: the shared pool and the rules of every mode of the table.

:class:`Platform` is the :class:`~simulator.modes.pool.Pool` (applications, numbers, bindings,
choosing X, expiry) with one :class:`~simulator.modes.rules.ModeRules` per mode of
:mod:`privatenumber.modes`. The server routes each interface to the handler the mode's rules give
it; the call and SMS engines ask the rules of the number's mode to route. A mode added to the
table gets its rules in ``simulator/modes/`` and one line in :data:`RULES`.
"""

from __future__ import annotations

import sqlite3

from privatenumber.modes import MODES, Interface
from simulator.exchange import InterfaceHandler
from simulator.modes.ax import AxRules
from simulator.modes.axb import AxbRules
from simulator.modes.axe import AxeRules
from simulator.modes.axyb import AxybRules
from simulator.modes.pool import Pool
from simulator.modes.rules import ModeRules
from simulator.modes.x import XRules
from simulator.store import Store

# The rules of each mode, by the mode's name in the table.
RULES: dict[str, type[ModeRules]] = {
    rules.mode.name: rules for rules in (AxbRules, AxRules, AxeRules, AxybRules, XRules)
}


class Platform(Pool):
    """The pool and the rules of every mode over it."""

    def __init__(self, store: Store, *, time_scale: float = 1.0) -> None:
        super().__init__(store, time_scale=time_scale)
        missing = set(MODES) - set(RULES)
        if missing:
            raise LookupError(f"no simulator rules for the modes {sorted(missing)}")
        self._rules = {name: rules(self) for name, rules in RULES.items()}
        self._by_kind = {kind: rules for rules in self._rules.values() for kind in rules.kinds}

    def rules(self, mode: str) -> ModeRules:
        """The rules of the mode of this name (an application's ``mode``)."""
        return self._rules[mode]

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        """The handler of every mode's own interfaces."""
        return {
            interface: handler
            for rules in self._rules.values()
            for interface, handler in rules.interfaces().items()
        }

    def forget(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        self._by_kind[row["kind"]].forget(db, row)
