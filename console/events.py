"""The kernel's own webhook events, each written in the transaction of the fact it announces.

* ``push.held``: a push with a right digest but a header that cannot vouch for its body was kept
  for review (:mod:`console.inbox.held`), in the transaction that stores it.
* ``alert.opened`` / ``alert.resolved``: an alert of the application opened (not on every bump)
  or resolved (:mod:`console.alerts`), in the transaction that writes the alert row. Title and
  detail are rendered in English. An alert of no application is e-mailed only.

Registered in ``ConsoleConfig.ready()`` like the apps' events
(:func:`console.webhooks.register_events`).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from console import webhooks
from console.models import Alert, Application, Delivery

EVENTS = {
    "push.held": gettext_noop(
        "A platform push was held for review: its header cannot vouch for its body"
    ),
    "alert.opened": gettext_noop("An alert about the application opened"),
    "alert.resolved": gettext_noop("An alert about the application resolved"),
}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def announce_held(application: Application, delivery: Delivery) -> int:
    """``push.held`` for a push just held (nothing of its body: only what the console knows)."""
    if not application.webhooks_on:
        return 0
    return webhooks.emit(
        application.pk,
        "push.held",
        {
            "id": delivery.pk,
            "endpoint": delivery.endpoint,
            "kind": delivery.kind,
            "hold_reason": delivery.hold_reason,
            "received_at": _iso(delivery.received_at),
            "signed_at": _iso(delivery.signed_at),
            "items": delivery.items,
            "answer": delivery.answer,
        },
    )


def alert_data(alert: Alert) -> dict[str, Any]:
    """An alert as event data (and as an e-mail reads it): title and detail in English."""
    from console.alerts import render

    with translation.override("en"):
        title, detail = render(alert)
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "key": alert.key,
        "title": title,
        "detail": detail,
        "count": alert.count,
        "opened_at": _iso(alert.opened_at),
        "resolved_at": _iso(alert.resolved_at),
    }


def announce_alert(alert: Alert, event_type: str) -> int:
    """``alert.opened`` or ``alert.resolved`` for an alert of an application (others: 0)."""
    if alert.application_id is None or not webhooks.has_subscribers(alert.application_id):
        return 0
    return webhooks.emit(alert.application_id, event_type, alert_data(alert))
