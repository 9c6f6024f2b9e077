"""The logged platform client, and what a result code means to a person.

Every request the console makes to the platform goes through the kernel's
:func:`console.gateway.client_for`, which writes a :class:`~console.models.PlatformCall` row for it
(numbers masked) and passes the application's gate (nothing is sent while its platform calls are
paused). This module names it for the services and adds what a binding keeps of an answer.
"""

from __future__ import annotations

from bindings import platform
from console.gateway import client_for, result_action, result_meaning
from privatenumber.errors import PlatformError

__all__ = ["client_for", "result_action", "result_fields", "result_meaning"]


def result_fields(error: PlatformError) -> dict[str, str]:
    """A binding's ``last_result_*`` fields for a platform answer (its text masked)."""
    return {
        "last_result_code": error.code[:32],
        "last_result_desc": platform.mask_text(error.description or error.meaning_en)[:256],
    }
