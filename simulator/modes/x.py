"""X mode (spec §4, §6.1.1): the platform keeps no bindings and asks the customer on every call.

An X-mode number has no bind, query or unbind: a call to it goes out as a Block callin and the
customer's server answers whom to connect (the call engine carries that out, see
``CallEngine._x_callin``); an SMS goes out as a Block notice likewise. Only the interfaces every
mode has (recordings) are served.
"""

from __future__ import annotations

from privatenumber import modes
from simulator.modes.rules import ModeRules


class XRules(ModeRules):
    """X mode: nothing stored, nothing routed here; the customer decides each call and SMS."""

    mode = modes.X
