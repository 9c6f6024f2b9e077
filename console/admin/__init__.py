"""The kernel's admin: applications, the audit log, the push inbox, platform calls, alerts.

``ConsoleModelAdmin`` (no query string probes a real number) and ``ReadOnlyAdmin`` are what every
app's admin inherits. Importing this package registers every admin of its modules.
"""

from __future__ import annotations

from console.admin import (  # noqa: F401 - each module registers its admins
    alerts,
    api_keys,
    applications,
    audit_log,
    deliveries,
    platform_calls,
    retention,
    teams,
    webhooks,
)
from console.admin.base import (
    ConsoleModelAdmin,
    DefaultedListFilter,
    ReadOnlyAdmin,
    https_url_fields,
)

__all__ = ["ConsoleModelAdmin", "DefaultedListFilter", "ReadOnlyAdmin", "https_url_fields"]
