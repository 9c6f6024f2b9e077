"""The webhook events of calls and SMS, each written in the transaction that stores its fact.

* ``call.completed``: the receiver of :data:`billing.signals.cdrs_ingested` (sent by
  ``ingest_cdrs`` inside its transaction) announces each new CDR: billed (talk seconds, billable
  minutes) and explained (the codes that say why the call ended as it did, in English and
  Chinese).
* ``call.event``: each call event push stored for the first time (callin, callout, alerting,
  answer, disconnect), from the push's transaction (:func:`announce_call_event`).
* ``sms.received``: each SMS notice stored for the first time, with the Block decision the console
  answered and why (:func:`announce_sms`).

The push path pays nothing when the application has no active subscription: it reads the
application's ``webhooks_on`` flag, which it holds already.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from billing import explain
from billing.choices import CallOutcome
from bindings.models import Binding
from console import webhooks

EVENTS = {
    "call.completed": gettext_noop("A call's CDR arrived: billed and explained"),
    "call.event": gettext_noop(
        "A call went one step further: called in, called out, ringing, answered or released"
    ),
    "sms.received": gettext_noop(
        "An SMS reached an X number, with what the console decided: forward or discard, and why"
    ),
}


def reasons(record) -> dict[str, list[dict[str, Any]]]:
    """Why a call ended as it did, in English and Chinese (the API answers the same)."""
    explained = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            explained[language] = [
                {
                    "code": r.code,
                    "label": str(r.label),
                    "category": r.category,
                    "meaning": str(r.meaning),
                }
                for r in explain.call_reasons(
                    answered=record.outcome == CallOutcome.ANSWERED,
                    no_binding=record.no_binding,
                    release=record.ul_fail_reason,
                    q850_forward=record.fwd_unasw_rsn,
                    q850_call_out=record.call_out_unasw_rsn,
                )
            ]
    return explained


def call_data(record) -> dict[str, Any]:
    return {
        "id": record.pk,
        "binding": record.binding_id,
        "subscription_id": record.subscription_id,
        "session_id": record.session_id,
        "caller_num": record.caller_num,
        "callee_num": record.callee_num,
        "fwd_dst_num": record.fwd_dst_num,
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "talk_seconds": record.talk_seconds,
        "billable_minutes": record.billable_minutes,
        "outcome": record.outcome,
        "recorded": bool(record.record_flag),
        "user_data": record.user_data,
        "reasons": reasons(record),
    }


def announce_calls(sender, *, application, call_records, **kwargs) -> None:
    """``cdrs_ingested``: one ``call.completed`` per new CDR, in the ingest's transaction."""
    # The flag of the application in hand, not a query: the ingest is one statement per batch.
    if not call_records or not application.webhooks_on:
        return
    webhooks.emit_many(
        (application.pk, "call.completed", call_data(record)) for record in call_records
    )


def _x_of(binding, caller: str, called: str, event_type: str) -> str:
    """The X (or Y) number of a call event: the party that is the binding's X or Y; without a
    binding, the called number of a callin and the caller of the later stages (as pushed)."""
    if binding is not None:
        own = {binding.x_number, binding.y_number} - {"", None}
        for number in (caller, called):
            if number in own:
                return number
    return called if event_type == "callin" else caller


def call_event_data(event, binding=None) -> dict[str, Any]:
    """A stored call event (:class:`billing.models.CallEvent`) as ``call.event`` data. The parties
    are under ``caller_num``/``called_num``: masked at delivery unless the subscription may see
    real numbers (one of them is X, which ``x_number`` gives in full)."""
    return {
        "id": event.pk,
        "binding": binding.pk if binding is not None else None,
        "subscription_id": event.subscription_id,
        "session_id": event.session_id,
        "event_type": event.event_type,
        "timestamp": event.timestamp.isoformat(),
        "caller_num": event.caller,
        "called_num": event.called,
        "x_number": _x_of(binding, event.caller, event.called, event.event_type),
        "state_code": event.state_code,
        "state_desc": event.state_desc,
        "notify_mode": event.notify_mode,
        "user_data": event.user_data,
        "digit_info": event.digit_info,
    }


def announce_call_event(application, event) -> int:
    """``call.event`` for one call event just stored, in the push's transaction."""
    if not application.webhooks_on:
        return 0
    binding = None
    if event.subscription_id:
        binding = (
            Binding.objects.filter(application=application, subscription_id=event.subscription_id)
            .only("pk", "x_number", "y_number")
            .first()
        )
    return webhooks.emit(application.pk, "call.event", call_event_data(event, binding))


def sms_data(record, reason: str = "") -> dict[str, Any]:
    """A stored SMS notice (:class:`billing.models.SmsRecord`) as ``sms.received`` data: with the
    Block decision (``forward``/``discard``; empty for a Notify notice) and why (``reason``)."""
    return {
        "id": record.pk,
        "binding": record.binding_id,
        "subscription_id": record.subscription_id,
        "sms_identifier": record.sms_identifier,
        "notification_mode": record.notification_mode,
        "caller_num": record.calling,
        "called_num": record.called,
        "x_number": record.virtual_number,
        "event": record.event.strip(),
        "time_stamp": record.time_stamp.isoformat() if record.time_stamp else None,
        "send_result": record.send_result,
        "direction": record.direction,
        "decision": record.decision,
        "reason": reason,
        "fwd_dst_num": record.forwarded_to,
    }


def announce_sms(application, record, reason: str = "") -> int:
    """``sms.received`` for one SMS notice just stored, in the push's transaction."""
    if not application.webhooks_on:
        return 0
    return webhooks.emit(application.pk, "sms.received", sms_data(record, reason))
