"""Huawei's documented request bodies and the first edition's wrong ones (fixtures/requests.json).

The client's tests (here) and the simulator's tests read the same file, so both sides are held
to the same documented bodies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FILE = Path(__file__).parent / "fixtures" / "requests.json"


def load(kind: str) -> list[dict[str, Any]]:
    """The ``documented`` or ``first_edition`` entries."""
    return json.loads(FILE.read_text(encoding="utf-8"))[kind]


def fill(value: Any, numbers: dict[str, str]) -> Any:
    """``value`` with every ``$NAME`` string replaced by ``numbers[NAME]``."""
    if isinstance(value, dict):
        return {key: fill(item, numbers) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, numbers) for item in value]
    if isinstance(value, str) and value.startswith("$"):
        return numbers[value[1:]]
    return value
