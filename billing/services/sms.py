"""SMS notices, and the Block answer to one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from billing import events
from billing.choices import SmsDecision
from billing.models import (
    SmsRecord,
)
from billing.services.call_events import _live_binding, other_party, store_once
from bindings.models import Binding
from bindings.services.safeguards import blacklisted
from console.choices import BlockSmsRule
from console.models import Application, Delivery
from privatenumber.schemas import (
    MessageInfo,
    SmsAction,
    SmsBlockAnswer,
    SmsEvent,
    SmsPush,
    is_global_number,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# SMS notices and the Block answer
# ---------------------------------------------------------------------------------------------


# Why the console decided as it did (``sms.received``'s ``reason``).
REASON_RULE = "rule_discard"  # the application's Block SMS rule is to discard
REASON_NO_RECEIVER = "no_receiver"  # no live binding, or nobody on it to forward to
REASON_NOT_GLOBAL = "not_global_number"  # a party is not a number the platform can route
REASON_BLACKLISTED = "blacklisted"  # the sender or the receiver is on the console's blacklist
REASON_BOUND = "bound"  # forwarded to the other party of the sender's binding


@dataclass(frozen=True)
class SmsChoice:
    answer: SmsBlockAnswer
    decision: str
    forwarded_to: str = ""
    binding: Binding | None = None
    reason: str = ""


def decide_sms(application: Application, event: SmsEvent) -> SmsChoice:
    """The answer to a Block SMS notice (spec §6.4), by the application's rule.

    ``forward`` (default): to the other party of the sender's binding on X (AX: the temporary
    callee); nobody to forward to, or a rule of ``discard``: drop it.
    """
    discard = SmsChoice(
        SmsBlockAnswer(actions=[SmsAction(operation="DiscardMessage")]),
        SmsDecision.DISCARD,
        reason=REASON_RULE,
    )
    if application.block_sms_rule == BlockSmsRule.DISCARD:
        return discard
    binding = _live_binding(
        application,
        subscription_id=event.subscription_id,
        x_number=event.virtual_number,
        party=event.calling,
    )
    receiver = other_party(binding, event.calling)
    if not receiver:
        return SmsChoice(
            discard.answer, discard.decision, binding=binding, reason=REASON_NO_RECEIVER
        )
    if not is_global_number(receiver) or not is_global_number(event.calling):
        return SmsChoice(
            discard.answer, discard.decision, binding=binding, reason=REASON_NOT_GLOBAL
        )
    if blacklisted(application, [event.calling, receiver]).exists():
        return SmsChoice(
            discard.answer, discard.decision, binding=binding, reason=REASON_BLACKLISTED
        )
    action = SmsAction(
        operation="vNumberRoute", message=MessageInfo(called=receiver, calling=event.calling)
    )
    return SmsChoice(
        SmsBlockAnswer(actions=[action]), SmsDecision.FORWARD, receiver, binding, REASON_BOUND
    )


def apply_sms_push(
    application: Application, push: SmsPush, *, delivery: Delivery
) -> dict[str, Any] | None:
    """The inbox's handler of an SMS notice: store it; decide a Block one (the answer)."""
    event = push.sms_event
    choice = decide_sms(application, event) if push.is_block else None
    binding = choice.binding if choice else None
    if binding is None and event.subscription_id:
        binding = Binding.objects.filter(
            application=application, subscription_id=event.subscription_id
        ).first()
    record = SmsRecord(
        application=application,
        binding=binding,
        sms_identifier=event.sms_identifier,
        notification_mode=event.notification_mode,
        calling=event.calling,
        called=event.called or "",
        virtual_number=event.virtual_number,
        event=event.event,
        time_stamp=event.time_stamp,
        subscription_id=event.subscription_id or "",
        content=event.sms_content or "",
        send_result=event.send_result,
        direction=(event.direction or "")[:8],
        decision=choice.decision if choice else SmsDecision.NONE,
        forwarded_to=choice.forwarded_to if choice else "",
        delivery=delivery,
    )
    if store_once(record, announced=application.webhooks_on):
        events.announce_sms(application, record, choice.reason if choice else "")
    return choice.answer.to_wire() if choice else None
