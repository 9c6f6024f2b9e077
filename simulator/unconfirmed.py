"""The simulator's UNCONFIRMED choices: the one register is :mod:`privatenumber.unconfirmed`.

This module only re-exports it, so the simulator and the client can never keep two diverging
lists. Add or change a choice there.
"""

from __future__ import annotations

from privatenumber.unconfirmed import *  # noqa: F403
