"""The pushes bindings applies, registered with the inbox (``console.inbox.handlers``) from
``BindingsConfig.ready()``: X-number status, which has no rule for a held one (its bodies carry
no id or time to check against)."""

from __future__ import annotations

from bindings import services
from console import inbox
from console.choices import DeliveryKind
from console.models import Application, Delivery
from privatenumber.schemas import NumStatusPush


def apply_x_number_status_push(
    application: Application, push: NumStatusPush, *, delivery: Delivery
) -> None:
    """The inbox's handler: apply the statuses to the pool; the platform wants no answer."""
    services.apply_x_number_status(application, push)


def register() -> None:
    """Called from ``BindingsConfig.ready()``."""
    inbox.register(DeliveryKind.NUM_STATUS, NumStatusPush, apply=apply_x_number_status_push)
