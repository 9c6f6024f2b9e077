"""Per-interface counts of result codes and handling time, for ``GET /_sim/metrics``."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any


class Metrics:
    """Per-interface counts of result codes and total handling time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._seconds: dict[str, float] = defaultdict(float)

    def record(self, interface: str, code: str, seconds: float) -> None:
        with self._lock:
            self._codes[interface][code] += 1
            self._seconds[interface] += seconds

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                name: {
                    "codes": dict(codes),
                    "count": sum(codes.values()),
                    "meanMs": round(1000 * self._seconds[name] / max(1, sum(codes.values())), 3),
                }
                for name, codes in self._codes.items()
            }
