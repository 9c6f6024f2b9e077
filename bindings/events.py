"""The webhook events of bindings and X numbers, written in the transaction of the change.

The services call :func:`announce` (one binding) or :func:`announce_ended` (a set-based end,
inside :func:`bindings.release.end_bindings`'s transaction); the kernel's outbox
(:mod:`console.webhooks`) does the rest. The payload is :func:`binding_data`, the same fields the
API answers (real numbers are masked at delivery unless the subscription may see them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_noop

from bindings.choices import BindingStatus
from bindings.models import Binding
from console import webhooks

EVENTS = {
    "binding.created": gettext_noop("A binding was saved; its bind is on its way"),
    "binding.active": gettext_noop("The platform made the binding: X is usable"),
    "binding.failed": gettext_noop("The platform refused the binding"),
    "binding.modified": gettext_noop("A binding's fields changed"),
    "binding.ended": gettext_noop("A binding was ended"),
    "binding.expired": gettext_noop("A binding's lifetime was up"),
    "number.status_changed": gettext_noop("The platform changed an X number's status"),
    "pool.low": gettext_noop(
        "A pool of X numbers will run out sooner than the application wants (once per alert)"
    ),
}
ENDED_EVENTS = {
    BindingStatus.FAILED: "binding.failed",
    BindingStatus.ENDED: "binding.ended",
    BindingStatus.EXPIRED: "binding.expired",
}
DATA_FIELDS = (
    "id",
    "application_id",
    "mode",
    "status",
    "order_ref",
    "subscription_id",
    "a_number",
    "b_number",
    "x_number",
    "y_number",
    "extension",
    "expires_at",
    "end_reason",
    "last_result_code",
    "last_result_desc",
)


def binding_data(values: dict[str, Any]) -> dict[str, Any]:
    """A binding's event data from its field values (a row of ``.values(*DATA_FIELDS)``)."""
    data = {name: values.get(name) for name in DATA_FIELDS}
    data["application"] = data.pop("application_id")
    if isinstance(data["expires_at"], datetime):
        data["expires_at"] = data["expires_at"].isoformat()
    return data


def announce(binding: Binding, event_type: str, *, subscribed: bool | None = None) -> int:
    """Announce one binding's event, as the row stands now in this transaction (one query when
    nobody subscribed to its application, two when somebody did).

    ``subscribed``: the caller read the application's ``webhooks_on`` flag in this task already
    (False: nothing to do, no query; True: the subscriptions are not asked about twice).
    """
    if subscribed is False:
        return 0
    if subscribed is None and not webhooks.has_subscribers(binding.application_id):
        return 0
    row = Binding.objects.filter(pk=binding.pk).values(*DATA_FIELDS).first()
    if row is None:
        return 0
    return webhooks.emit(row["application_id"], event_type, binding_data(row))


def announce_ended(where: Q, to_status: str, now: datetime) -> int:
    """After a set-based end: announce every binding it just moved (they carry its ``now``)."""
    event_type = ENDED_EVENTS.get(to_status)
    if event_type is None or not webhooks.has_subscribers():
        return 0
    rows = Binding.objects.filter(where, status=to_status, ended_at=now).values(*DATA_FIELDS)
    return webhooks.emit_many(
        (row["application_id"], event_type, binding_data(row)) for row in rows.iterator()
    )


def announce_number_status(application_id: int, numbers: list[dict[str, Any]]) -> int:
    if not numbers or not webhooks.has_subscribers(application_id):
        return 0
    return webhooks.emit_many(
        (application_id, "number.status_changed", number) for number in numbers
    )


def announce_pool_low(row: dict[str, Any]) -> int:
    """``pool.low`` when a pool's ``pool_low`` alert opens (not on its hourly bumps): a row of
    :func:`bindings.forecast.forecasts`, in the transaction that opens the alert."""
    application_id = row["application_id"]
    if not webhooks.has_subscribers(application_id):
        return 0
    days_left = row["days_left"]
    return webhooks.emit(
        application_id,
        "pool.low",
        {
            "application": application_id,
            "city_code": row["city_code"],
            "days_left": round(days_left, 1) if days_left is not None else None,
            "wanted_days": row["wanted_days"],
            "to_order": row["to_order"],
            "free": row["free"],
            "capacity": row["capacity"],
            "bindings": row["bindings"],
        },
    )
