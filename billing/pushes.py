"""The pushes billing applies, registered with the inbox (``console.inbox.handlers``) from
``BillingConfig.ready()``: CDRs, call events and SMS notices, each with its rule for a held one."""

from __future__ import annotations

from billing import services
from console import inbox
from console.choices import DeliveryKind
from privatenumber.schemas import CallEventPush, FeePush, SmsPush


def register() -> None:
    """Called from ``BillingConfig.ready()``."""
    inbox.register(
        DeliveryKind.FEE,
        FeePush,
        apply=services.apply_fee_push,
        corroborate=services.corroborate_fee_push,
    )
    inbox.register(
        DeliveryKind.CALL_EVENT,
        CallEventPush,
        apply=services.apply_call_event_push,
        corroborate=services.corroborate_call_event_push,
    )
    inbox.register(
        DeliveryKind.SMS,
        SmsPush,
        apply=services.apply_sms_push,
        corroborate=services.corroborate_sms_push,
    )
