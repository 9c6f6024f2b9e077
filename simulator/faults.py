"""Injected faults, per interface: result-code errors, HTTP 5xx, latency, dropped connections.

Interfaces are named ``<mode>.<verb>`` (``axb.bind``, ``ax.callee``, ``axe.query2``,
``call.stop``, ``record.url``: the labels of the mode table, :mod:`privatenumber.modes`) plus
``record.download`` for the recording files; ``*`` applies to every platform interface that has
no entry of its own.
Faults live in memory only: a restart clears them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Fault:
    """What to do to requests of one interface. Rates are probabilities from 0 to 1."""

    error_rate: float = 0.0
    error_code: str = "1010010"
    http5xx_rate: float = 0.0
    http_status: int = 500
    latency_ms: int = 0
    drop_rate: float = 0.0
    # Recording downloads: answer 5xx instead of the file, or cut the connection mid-file.
    fail_rate: float = 0.0
    drop_mid_rate: float = 0.0
    # Apply the failing part to the next ``times`` requests only, then forget the fault.
    times: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault keys {unknown}")
        fault = cls(**data)
        for name in ("error_rate", "http5xx_rate", "drop_rate", "fail_rate", "drop_mid_rate"):
            if not 0 <= float(getattr(fault, name)) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 500 <= int(fault.http_status) <= 599:
            raise ValueError("http_status must be a 5xx status")
        return fault

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The fault table and the dice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: dict[str, Fault] = {}

    def set(self, interface: str, fault: Fault | None) -> None:
        with self._lock:
            if fault is None:
                self._table.pop(interface, None)
            else:
                self._table[interface] = fault

    def clear(self) -> None:
        with self._lock:
            self._table.clear()

    def table(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: fault.to_dict() for name, fault in self._table.items()}

    def roll(self, interface: str, kinds: tuple[str, ...]) -> tuple[int, str | None, Fault | None]:
        """Latency in ms and which of ``kinds`` (rate field names) fires, if any."""
        with self._lock:
            key = interface if interface in self._table else "*"
            if key == "*" and interface == "record.download":
                key = ""
            fault = self._table.get(key)
            if fault is None:
                return 0, None, None
            fired = None
            for kind in kinds:
                if random.random() < getattr(fault, kind):
                    fired = kind
                    break
            if fired and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._table[key]
            return fault.latency_ms, fired, fault
