"""The console's navigation: one menu on every page, filled from the top floor.

The kernel draws the menu (``console_tags.console_nav``) but knows no page above it: the shell,
which knows every app, registers the entries in its ``AppConfig.ready()``, in the order people
read them. Each entry shows to those whose role grants its permission (None: every staff user).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One link of the menu: its label, the URL name it opens, the permission it needs, and
    optionally a count shown beside it as a badge (0: none)."""

    label: Any
    url_name: str
    permission: str | None = None
    badge: Callable[[], int] | None = None


_MENU: list[Entry] = []


def register(*entries: Entry) -> None:
    """Add entries at the end of the menu; an entry registered twice is kept once."""
    for entry in entries:
        if entry not in _MENU:
            _MENU.append(entry)


def menu() -> tuple[Entry, ...]:
    return tuple(_MENU)
