"""Call events, and the answer to an X-mode Block callin."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import ValidationError

from billing import events
from billing.models import (
    CallEvent,
)
from bindings.choices import BindingStatus
from bindings.models import Binding
from bindings.services.safeguards import blacklisted
from console.choices import BlockCallRule
from console.models import Application, Delivery
from privatenumber.schemas import (
    CallEventPush,
    CallinBlockAnswer,
    CallStatusInfo,
    CloseInfo,
    ConnectInfo,
    is_global_number,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Call events and the X-mode Block answer
# ---------------------------------------------------------------------------------------------


def record_call_event(
    application: Application, push: CallEventPush, *, delivery: Delivery | None = None
) -> None:
    """Store one call event; one stored before (a retried push) is left as it is. A new one is
    announced (``call.event``) in the push's transaction when the application has subscribers."""
    info = push.status_info
    event = CallEvent(
        application=application,
        session_id=info.session_id,
        event_type=push.event_type,
        timestamp=info.timestamp,
        caller=info.caller or "",
        called=info.called or "",
        subscription_id=info.subscription_id or "",
        state_code=info.state_code,
        state_desc=info.state_desc or "",
        user_data=info.user_data or "",
        notify_mode=info.notify_mode or "",
        digit_info=info.digit_info or "",
        delivery=delivery,
    )
    if store_once(event, announced=application.webhooks_on):
        events.announce_call_event(application, event)


def store_once(row, *, announced: bool) -> bool:
    """Insert ``row`` unless the same notice (or event) is stored already (a retried push);
    whether it was new. Only when it will be announced does the answer cost a savepoint: else a
    plain ``ON CONFLICT DO NOTHING`` (whose answer is not known)."""
    if not announced:
        type(row).objects.bulk_create([row], ignore_conflicts=True)
        return False
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def apply_call_event_push(
    application: Application, push: CallEventPush, *, delivery: Delivery
) -> dict[str, Any] | None:
    """The inbox's handler of a call event; an X-mode Block callin gets its decision (the
    answer, on the wire)."""
    record_call_event(application, push, delivery=delivery)
    answer = decide_callin(application, push.status_info) if push.is_block else None
    return answer.to_wire() if answer else None


def _live_binding(
    application: Application,
    *,
    subscription_id: str | None = None,
    x_number: str | None = None,
    party: str | None = None,
) -> Binding | None:
    """The active binding a call or SMS belongs to: by subscriptionId, else by X and a party."""
    bindings = Binding.objects.filter(application=application, status=BindingStatus.ACTIVE).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )
    if subscription_id:
        return bindings.filter(subscription_id=subscription_id).first()
    if not x_number or not party:
        return None
    return (
        bindings.filter(Q(x_number=x_number) | Q(y_number=x_number))
        .filter(Q(a_number=party) | Q(b_number=party))
        .order_by("-created_at")
        .first()
    )


def other_party(binding: Binding | None, party: str) -> str | None:
    """Whom ``party`` reaches through the binding: the other side, or AX's temporary callee."""
    if binding is None:
        return None
    if party == binding.a_number:
        if binding.b_number:
            return binding.b_number
        valid = binding.temporary_callee_expires_at is None or (
            binding.temporary_callee_expires_at > timezone.now()
        )
        return binding.temporary_callee if binding.temporary_callee and valid else None
    return binding.a_number


def decide_callin(application: Application, info: CallStatusInfo) -> CallinBlockAnswer:
    """The answer to an X-mode Block callin (spec §6.1.1), by the application's rule.

    ``connect`` (default): connect the caller to the other party of its binding on the dialled
    X, showing X (carrier rule); no binding, or a rule of ``close``: end the call.
    """
    close = CallinBlockAnswer(operation="close", close_info=CloseInfo())
    if application.block_call_rule == BlockCallRule.CLOSE:
        return close
    binding = _live_binding(
        application,
        subscription_id=info.subscription_id,
        x_number=info.called,
        party=info.caller,
    )
    callee = other_party(binding, info.caller or "")
    if binding is None or not callee or not is_global_number(callee):
        return close
    if blacklisted(application, [info.caller or "", callee]).exists():
        return close  # the console's blacklist (issue 16): neither party is connected
    display = info.called if info.called and is_global_number(info.called) else None
    options: dict[str, Any] = {}
    if binding.max_duration:
        options["max_duration"] = binding.max_duration
    if binding.record_flag and application.recording_enabled:
        options["record_flag"] = "true"
        if binding.record_hint_tone:
            options["record_hint_tone"] = binding.record_hint_tone
    if binding.last_min_voice and binding.max_duration:
        options["last_min_voice"] = binding.last_min_voice
    if binding.user_data:
        options["user_data"] = binding.user_data
    try:
        connect = ConnectInfo(callee_num=callee, display_callee_num=display, **options)
    except ValidationError:
        logger.warning(
            "binding %s: optional connect fields refused; connecting without", binding.pk
        )
        connect = ConnectInfo(callee_num=callee, display_callee_num=display)
    return CallinBlockAnswer(operation="connect", connect_info=connect)
