"""Cross-cutting models: platform applications with their credentials, the audit log, the inbox
of pushes the platform sent (``Delivery``), the log of every request sent to it
(``PlatformCall``) and the alerts administrators must look at.

One module per part, every model imported here (Django finds them in ``console.models``).
"""

from __future__ import annotations

from console.models.alerts import (
    Alert,
)
from console.models.api import (
    ApiKey,
    IdempotencyKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookMessage,
    WebhookSubscription,
)
from console.models.applications import (
    RECEIVER_PATHS,
    Application,
    Team,
)
from console.models.audit import (
    AuditChainAnchor,
    AuditLog,
)
from console.models.deliveries import (
    Delivery,
)
from console.models.personal_data import (
    AccessRequest,
    RetentionPolicy,
)
from console.models.platform_calls import (
    PlatformCall,
)

__all__ = [
    "RECEIVER_PATHS",
    "AccessRequest",
    "Alert",
    "ApiKey",
    "Application",
    "AuditChainAnchor",
    "AuditLog",
    "Delivery",
    "IdempotencyKey",
    "PlatformCall",
    "RetentionPolicy",
    "Team",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookMessage",
    "WebhookSubscription",
]
