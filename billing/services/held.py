"""Held pushes (console.inbox): what arrived under a fresh signature vouches for them, or not."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from billing.models import (
    CallEvent,
    CallRecord,
    SmsRecord,
)
from billing.services.cdrs import cdr_key
from console.inbox import Verdict
from console.models import Application
from privatenumber.schemas import (
    CallEventPush,
    FeeInfo,
    FeePush,
    SmsPush,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Held pushes: what arrived under a fresh signature vouches for them, or not (console.inbox)
# ---------------------------------------------------------------------------------------------

# Event times and CDR times come from different parts of the platform; allow this much between.
CORROBORATION_TOLERANCE = timedelta(seconds=2)


def _same_time(first: datetime | None, second: datetime | None) -> bool:
    if first is None or second is None:
        return first is None and second is None
    return abs(first - second) <= CORROBORATION_TOLERANCE


def _events_vouch_for(fee: FeeInfo, events: list[CallEvent]) -> bool:
    """Whether the call events of its session, received fresh, confirm every fact of a CDR that
    they can: who called which X, the binding, when the call came in, was answered and ended.

    Naming a real session is not enough: every one of those facts must match. A CDR that names a
    recording download URL is never vouched for (the events say nothing of it).
    """
    by_type = {event.event_type: event for event in events}
    callin, disconnect = by_type.get("callin"), by_type.get("disconnect")
    if callin is None or disconnect is None or fee.record_file_download_url:
        return False
    answer = by_type.get("answer")
    subscription = next((event.subscription_id for event in events if event.subscription_id), "")
    return (
        callin.caller == fee.caller_num
        and callin.called == fee.callee_num
        and (fee.subscription_id or "") == subscription
        and _same_time(callin.timestamp, fee.call_in_time)
        and _same_time(disconnect.timestamp, fee.call_end_time)
        and _same_time(answer.timestamp if answer else None, fee.fwd_answer_time)
        and (answer is None or not fee.fwd_dst_num or answer.called == fee.fwd_dst_num)
    )


def corroborate_fee_push(application: Application, push: FeePush) -> Verdict:
    """Judge a held CDR push (``console.inbox.corroborate``).

    Every CDR already stored by its key: a harmless duplicate. Otherwise every CDR not stored must
    belong to a session that has no CDR yet and whose call events, received fresh, confirm it
    (:func:`_events_vouch_for`); then the push is applied (stored CDRs are skipped as always).
    """
    keys = {cdr_key(fee): fee for fee in push.fee_lst}
    stored = set(
        CallRecord.objects.filter(application=application, cdr_key__in=list(keys)).values_list(
            "cdr_key", flat=True
        )
    )
    missing = [fee for key, fee in keys.items() if key not in stored]
    if not missing:
        return Verdict(Verdict.DUPLICATE, "every CDR in it was already received")
    sessions = {fee.session_id for fee in missing}
    if CallRecord.objects.filter(application=application, session_id__in=sessions).exists():
        return Verdict()  # a second CDR of a call: only a person can tell
    events: dict[str, list[CallEvent]] = {}
    for event in CallEvent.objects.filter(application=application, session_id__in=sessions):
        events.setdefault(event.session_id, []).append(event)
    if all(_events_vouch_for(fee, events.get(fee.session_id, [])) for fee in missing):
        return Verdict(
            Verdict.CORROBORATED,
            f"{len(missing)} CDR(s) confirmed by the call events of their sessions",
        )
    return Verdict()


# The CDR time a call event of each type must match.
_EVENT_TIME_IN_CDR = {
    "callin": "call_in_time",
    "callout": "fwd_start_time",
    "alerting": "fwd_alerting_time",
    "answer": "fwd_answer_time",
    "disconnect": "call_end_time",
}


def corroborate_call_event_push(application: Application, push: CallEventPush) -> Verdict:
    """Judge a held call event: stored already (a duplicate), or confirmed by the CDR of its
    session received fresh (its time, and for a callin who called which X, must match)."""
    info = push.status_info
    if CallEvent.objects.filter(
        application=application,
        session_id=info.session_id,
        event_type=push.event_type,
        timestamp=info.timestamp,
    ).exists():
        return Verdict(Verdict.DUPLICATE, "this event was already received")
    records = list(CallRecord.objects.filter(application=application, session_id=info.session_id))
    if len(records) != 1:
        return Verdict()
    record = records[0]
    confirmed = _same_time(
        info.timestamp, getattr(record, _EVENT_TIME_IN_CDR[push.event_type])
    ) and (info.subscription_id or "") in ("", record.subscription_id)
    if push.event_type == "callin":
        confirmed = confirmed and (info.caller, info.called) == (
            record.caller_num,
            record.callee_num,
        )
    if confirmed:
        return Verdict(Verdict.CORROBORATED, "confirmed by the CDR of its session")
    return Verdict()


def corroborate_sms_push(application: Application, push: SmsPush) -> Verdict:
    """Judge a held SMS notice: stored already (a duplicate); nothing else can vouch for one."""
    event = push.sms_event
    if SmsRecord.objects.filter(
        application=application,
        sms_identifier=event.sms_identifier,
        notification_mode=event.notification_mode,
        time_stamp=event.time_stamp,
    ).exists():
        return Verdict(Verdict.DUPLICATE, "this SMS notice was already received")
    return Verdict()
