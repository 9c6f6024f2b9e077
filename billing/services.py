"""The verbs of billing: take in pushed CDRs, call events and SMS notices; decide Block answers;
compute and close statements; keep the dashboard's hourly totals.

Pushed messages arrive already parsed (``privatenumber.schemas``) from the receiver
(``console.inbox``), which runs each push in one transaction with its ``Delivery`` row; nothing
here opens a transaction of its own for a push or makes a network call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone
from pydantic import ValidationError
from pydantic_core import to_json

from billing import settlement, signals
from billing.choices import CallOutcome, SmsDecision, StatementState
from billing.models import (
    CallEvent,
    CallRecord,
    CallStat,
    CallStatCursor,
    SmsRecord,
    Statement,
    Tariff,
)
from bindings import modes
from bindings.choices import BindingStatus, NumberState
from bindings.models import Binding, XNumber
from bindings.services.safeguards import blacklisted
from console.choices import BlockCallRule, BlockSmsRule
from console.inbox import Verdict
from console.models import Application, Delivery
from console.sql import prepared_cursor
from privatenumber import codes
from privatenumber.schemas import (
    CallEventPush,
    CallinBlockAnswer,
    CallStatusInfo,
    CloseInfo,
    ConnectInfo,
    FeeInfo,
    FeePush,
    MessageInfo,
    SmsAction,
    SmsBlockAnswer,
    SmsEvent,
    SmsPush,
    is_global_number,
)

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
_OUTCOMES = frozenset(CallOutcome.values)


# ---------------------------------------------------------------------------------------------
# CDRs
# ---------------------------------------------------------------------------------------------


def cdr_key(fee: FeeInfo) -> str:
    """The natural key of a CDR within its application: ``icid``, else ``session:<sessionId>``.

    icid is the platform's unique call-record id and present in every documented example, but
    the spec marks it optional (UNCONFIRMED, §13.7); sessionId is required and identifies the
    call, so it stands in when icid is missing. The two forms cannot collide (icids have no
    ``session:`` prefix).
    """
    return fee.icid if fee.icid else f"session:{fee.session_id}"


def billable_minutes(answered: datetime | None, ended: datetime | None) -> int:
    """ceil((callEndTime − fwdAnswerTime) / 60 s); 0 when unanswered (spec §12)."""
    if answered is None or ended is None or ended <= answered:
        return 0
    return math.ceil((ended - answered).total_seconds() / 60)


def outcome_of(fee: FeeInfo) -> str:
    """Answered, or the category of the release point (``privatenumber.codes``)."""
    if fee.fwd_answer_time is not None:
        return CallOutcome.ANSWERED
    category = codes.release_point(fee.ul_fail_reason).category
    return category if category in _OUTCOMES and category != "answered" else CallOutcome.UNKNOWN


# Columns the bulk insert writes, in order; ``_row`` produces the values in the same order.
_CDR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("binding_id", "bigint"),
    ("cdr_key", "text"),
    ("direction", "smallint"),
    ("sp_id", "text"),
    ("icid", "text"),
    ("bind_num", "text"),
    ("session_id", "text"),
    ("subscription_id", "text"),
    ("caller_num", "text"),
    ("callee_num", "text"),
    ("fwd_display_num", "text"),
    ("fwd_dst_num", "text"),
    ("call_in_time", "timestamptz"),
    ("fwd_start_time", "timestamptz"),
    ("fwd_alerting_time", "timestamptz"),
    ("fwd_answer_time", "timestamptz"),
    ("call_end_time", "timestamptz"),
    ("fwd_unasw_rsn", "integer"),
    ("fail_time", "timestamptz"),
    ("ul_fail_reason", "integer"),
    ("sip_status_code", "integer"),
    ("call_out_unasw_rsn", "integer"),
    ("record_flag", "smallint"),
    ("record_start_time", "timestamptz"),
    ("record_object_name", "text"),
    ("record_bucket_name", "text"),
    ("record_domain", "text"),
    ("record_file_download_url", "text"),
    ("tts_play_times", "integer"),
    ("tts_trans_duration", "integer"),
    ("mpty_id", "text"),
    ("service_type", "text"),
    ("host_name", "text"),
    ("user_data", "text"),
    ("extend_number", "text"),
    ("started_at", "timestamptz"),
    ("talk_seconds", "integer"),
    ("billable_minutes", "integer"),
    ("outcome", "text"),
    ("redial_duplicate", "boolean"),
    ("no_binding", "boolean"),
    ("malformed_number", "boolean"),
)
CDR_FIELDS = tuple(name for name, _ in _CDR_COLUMNS)
_KEY = CDR_FIELDS.index("cdr_key")
_SUBSCRIPTION = CDR_FIELDS.index("subscription_id")


def _row(fee: FeeInfo, binding_id: int | None, expects_binding: bool, now: datetime) -> tuple:
    """One CDR as the tuple of ``_CDR_COLUMNS``."""
    sub = fee.subscription_id or ""
    answered, ended = fee.fwd_answer_time, fee.call_end_time
    redial_duplicate = bool(sub) and fee.call_in_time is None
    talk = int((ended - answered).total_seconds()) if answered and ended and ended > answered else 0
    numbers = (fee.caller_num, fee.callee_num, fee.bind_num, fee.fwd_display_num, fee.fwd_dst_num)
    return (
        binding_id,
        cdr_key(fee),
        fee.direction,
        fee.sp_id,
        fee.icid or "",
        fee.bind_num or "",
        fee.session_id,
        sub,
        fee.caller_num,
        fee.callee_num,
        fee.fwd_display_num or "",
        fee.fwd_dst_num or "",
        fee.call_in_time,
        fee.fwd_start_time,
        fee.fwd_alerting_time,
        answered,
        ended,
        fee.fwd_unasw_rsn,
        fee.fail_time,
        fee.ul_fail_reason,
        fee.sip_status_code,
        fee.call_out_unasw_rsn,
        fee.record_flag,
        fee.record_start_time,
        fee.record_object_name or "",
        fee.record_bucket_name or "",
        fee.record_domain or "",
        fee.record_file_download_url or "",
        fee.tts_play_times,
        fee.tts_trans_duration,
        fee.mpty_id or "",
        fee.service_type or "",
        fee.host_name or "",
        fee.user_data or "",
        fee.extend_number or "",
        fee.call_in_time or fee.fwd_start_time or ended or fee.fail_time or now,
        talk,
        0 if redial_duplicate else billable_minutes(answered, ended),
        outcome_of(fee),
        redial_duplicate,
        expects_binding and not sub,
        any(n and not is_global_number(n) for n in numbers),
    )


def _bindings_by_subscription(application: Application, ids: Iterable[str]) -> dict[str, int]:
    """subscriptionId → Binding id for one batch: one query."""
    subscriptions = {sub for sub in ids if sub}
    if not subscriptions:
        return {}
    return dict(
        Binding.objects.filter(
            application=application, subscription_id__in=subscriptions
        ).values_list("subscription_id", "id")
    )


def _insert_postgresql(
    application: Application, delivery_id: int | None, now: datetime, rows: list[tuple]
) -> list[tuple[int, str, int | None]]:
    """One statement per batch: ``INSERT … SELECT FROM jsonb_array_elements(…) LEFT JOIN
    bindings … ON CONFLICT DO NOTHING RETURNING``; it links each CDR to its binding too.

    The batch travels as one JSON array of row arrays: encoding it is one call into
    pydantic-core (datetimes too, as ISO 8601 with ``Z``; ``json.dumps`` calling back into Python
    for each of them took four times as long), where psycopg adapting forty Python lists to typed
    arrays took twice as long as PostgreSQL's whole insert. The statement is prepared once per
    connection and the JSON travels as a parameter, not escaped into the text
    (:func:`console.sql.prepared_cursor`).
    """
    names = [name for name, _ in _CDR_COLUMNS]
    values = ", ".join(
        "b.id" if name == "binding_id" else f"(e->>{index})::{kind}"
        for index, (name, kind) in enumerate(_CDR_COLUMNS)
    )
    sql = (
        f"INSERT INTO {CallRecord._meta.db_table} "  # noqa: S608 - names are ours, values bound
        f"(application_id, delivery_id, received_at, {', '.join(names)}) "
        f"SELECT %s::bigint, %s::bigint, %s::timestamptz, {values} "
        "FROM jsonb_array_elements(%s::jsonb) AS e "
        f"LEFT JOIN {Binding._meta.db_table} b ON b.application_id = %s "
        f"AND b.subscription_id = e->>{_SUBSCRIPTION} AND e->>{_SUBSCRIPTION} <> '' "
        f"ON CONFLICT DO NOTHING RETURNING id, cdr_key, binding_id"
    )
    batch = to_json(rows).decode()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [application.pk, delivery_id, now, batch, application.pk])
        return cursor.fetchall()


def _insert_portable(
    application: Application, delivery_id: int | None, now: datetime, rows: list[tuple]
) -> list[tuple[int, str, int | None]]:
    """The same through the ORM, for SQLite (the embedded single-machine setup)."""
    by_subscription = _bindings_by_subscription(application, (r[_SUBSCRIPTION] for r in rows))
    rows = [(by_subscription.get(row[_SUBSCRIPTION]), *row[1:]) for row in rows]
    keys = [row[_KEY] for row in rows]
    existing = set(
        CallRecord.objects.filter(application=application, cdr_key__in=keys).values_list(
            "cdr_key", flat=True
        )
    )
    objects = [
        CallRecord(
            application=application,
            delivery_id=delivery_id,
            received_at=now,
            **dict(zip(CDR_FIELDS, row, strict=True)),
        )
        for row in rows
        if row[_KEY] not in existing
    ]
    CallRecord.objects.bulk_create(objects)
    return [(obj.pk, obj.cdr_key, obj.binding_id) for obj in objects]


def ingest_cdrs(
    application: Application,
    fees: Sequence[FeeInfo],
    *,
    delivery: Delivery | None = None,
    now: datetime | None = None,
) -> int:
    """Store a batch of CDRs (one push, ≤ 50) idempotently; return how many were new.

    Keyed on :func:`cdr_key` within the application: a CDR seen before (the platform retried the
    push) is skipped, never stored or billed twice. Each CDR is linked to its binding by
    subscriptionId (one query per batch). Must run inside a transaction; sends
    :data:`billing.signals.cdrs_ingested` with the CallRecords created.
    """
    if not fees:
        return 0
    now = now or timezone.now()
    expects_binding = modes.has_bindings(application.mode)  # X mode has none on the platform
    rows: dict[str, tuple] = {}
    for fee in fees:
        row = _row(fee, None, expects_binding, now)  # the insert links the binding
        rows.setdefault(row[_KEY], row)  # the same CDR twice in one push counts once
    delivery_id = delivery.pk if delivery is not None else None
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_portable
    created = insert(application, delivery_id, now, list(rows.values()))
    if created and signals.cdrs_ingested.has_listeners(CallRecord):
        records = _saved_records(application, delivery_id, now, rows, created)
        signals.cdrs_ingested.send(sender=CallRecord, application=application, call_records=records)
    return len(created)


def _saved_records(
    application: Application,
    delivery_id: int | None,
    now: datetime,
    rows: dict[str, tuple],
    created: list[tuple[int, str, int | None]],
) -> list[CallRecord]:
    """The created rows as saved CallRecord instances, as a queryset would have loaded them.

    Built by filling each instance's ``__dict__`` (attribute name → value, every concrete field,
    and a ``ModelState`` marked saved, in this database): ``Model.__init__`` (even through
    ``from_db``) sets the fifty fields one ``setattr`` at a time and cost more than the insert.
    """
    ours = {"application_id": application.pk, "delivery_id": delivery_id, "received_at": now}
    positions = _record_positions()
    alias = connection.alias
    new = CallRecord.__new__
    records = []
    for pk, key, binding_id in created:
        row = rows[key]
        record = new(CallRecord)
        state = ModelState()
        state.adding = False
        state.db = alias
        state.fields_cache["application"] = application  # no query to reach it
        values = record.__dict__
        values["_state"] = state
        for name, index in positions:
            values[name] = ours[name] if index is None else row[index]
        values["id"] = pk
        values["binding_id"] = binding_id
        records.append(record)
    return records


@cache
def _record_positions() -> list[tuple[str, int | None]]:
    """(attname, index in a ``_row`` tuple or None) for each concrete field but ``id``."""
    return [
        (field.attname, CDR_FIELDS.index(field.attname) if field.attname in CDR_FIELDS else None)
        for field in CallRecord._meta.concrete_fields
        if field.attname != "id"
    ]


def apply_fee_push(application: Application, push: FeePush, *, delivery: Delivery) -> None:
    """The inbox's handler of a CDR push (``billing/pushes.py``): no answer but 200."""
    ingest_cdrs(application, push.fee_lst, delivery=delivery)


# ---------------------------------------------------------------------------------------------
# Call events and the X-mode Block answer
# ---------------------------------------------------------------------------------------------


def record_call_event(
    application: Application, push: CallEventPush, *, delivery: Delivery | None = None
) -> None:
    """Store one call event; one stored before (a retried push) is left as it is."""
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
    CallEvent.objects.bulk_create([event], ignore_conflicts=True)


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


# ---------------------------------------------------------------------------------------------
# SMS notices and the Block answer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsChoice:
    answer: SmsBlockAnswer
    decision: str
    forwarded_to: str = ""
    binding: Binding | None = None


def decide_sms(application: Application, event: SmsEvent) -> SmsChoice:
    """The answer to a Block SMS notice (spec §6.4), by the application's rule.

    ``forward`` (default): to the other party of the sender's binding on X (AX: the temporary
    callee); nobody to forward to, or a rule of ``discard``: drop it.
    """
    discard = SmsChoice(
        SmsBlockAnswer(actions=[SmsAction(operation="DiscardMessage")]), SmsDecision.DISCARD
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
    if not receiver or not is_global_number(receiver) or not is_global_number(event.calling):
        return SmsChoice(discard.answer, discard.decision, binding=binding)
    if blacklisted(application, [event.calling, receiver]).exists():
        return SmsChoice(discard.answer, discard.decision, binding=binding)  # the blacklist
    action = SmsAction(
        operation="vNumberRoute", message=MessageInfo(called=receiver, calling=event.calling)
    )
    return SmsChoice(SmsBlockAnswer(actions=[action]), SmsDecision.FORWARD, receiver, binding)


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
    SmsRecord.objects.bulk_create(
        [
            SmsRecord(
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
        ],
        ignore_conflicts=True,
    )
    return choice.answer.to_wire() if choice else None


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
    ).exists():
        return Verdict(Verdict.DUPLICATE, "this SMS notice was already received")
    return Verdict()


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_start(moment: date | datetime) -> date:
    """The first day of the month ``moment`` falls in (a datetime is read in local time)."""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment, local_zone()).date()
    return moment.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a local (Asia/Shanghai) calendar month, as aware datetimes."""
    zone = local_zone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end_day = next_month(month)
    return start, datetime(end_day.year, end_day.month, 1, tzinfo=zone)


def tariff_for(application: Application, month: date) -> Tariff | None:
    """The tariff in force in ``month``: the latest one valid from that month or before."""
    return (
        Tariff.objects.filter(application=application, valid_from__lte=month)
        .order_by("-valid_from")
        .first()
    )


def count_x_numbers(application: Application, month: date) -> int:
    """X numbers rented in ``month``: in the pool before the month ended and not retired."""
    _, end = month_bounds(month)
    return (
        XNumber.objects.filter(application=application, created_at__lt=end)
        .exclude(state=NumberState.RETIRED)
        .count()
    )


@dataclass(frozen=True)
class StatementFigures:
    """Every figure of a statement, derived from the CDRs, the hourly settlement (package minutes
    first, the excess at the tariff), the tariff and the X numbers."""

    calls: int
    answered_calls: int
    minutes: int
    call_charges: Decimal
    x_numbers: int
    number_rent: Decimal
    total: Decimal
    lines: list[dict[str, Any]] = field(default_factory=list)
    tariff: Tariff | None = None
    package_minutes: int = 0
    excess_minutes: int = 0

    def as_fields(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "answered_calls": self.answered_calls,
            "minutes": self.minutes,
            "package_minutes": self.package_minutes,
            "excess_minutes": self.excess_minutes,
            "call_charges": self.call_charges,
            "x_numbers": self.x_numbers,
            "number_rent": self.number_rent,
            "total": self.total,
            "lines": self.lines,
            "tariff": self.tariff,
        }


def price_of(tariff: Tariff | None, direction: int) -> Decimal:
    """The price per started minute of ``direction`` (0.00 without a tariff)."""
    return tariff.price_for(direction) if tariff is not None else Decimal("0.00")


def compute_statement(
    application: Application,
    month: date,
    *,
    x_numbers: int | None = None,
    tariff: Tariff | None = None,
    rederive: bool = False,
) -> StatementFigures:
    """The figures of ``application``'s statement for ``month`` (a local calendar month).

    Calls and answered calls are the CDRs that started in the month, redial duplicates left out.
    Minutes and money follow the hourly settlement (``billing.settlement``): the calls that ended
    in the month's hours, their package minutes, and the excess minutes of each direction times
    that direction's price per started minute; rent is the X numbers times the monthly rent.
    ``x_numbers`` and ``tariff`` default to today's pool and the tariff in force; pass a closed
    statement's own to recompute it exactly. The settlement is read as stored (and derived for
    the hours not settled yet); ``rederive`` derives all of the month's hours from the CDRs again.
    """
    month = month_start(month)
    start, end = month_bounds(month)
    tariff = tariff if tariff is not None else tariff_for(application, month)
    per_direction = (
        CallRecord.objects.filter(
            application=application,
            started_at__gte=start,
            started_at__lt=end,
            redial_duplicate=False,
        )
        .values("direction")
        .annotate(
            calls=Count("id"),
            answered=Count("id", filter=Q(fwd_answer_time__isnull=False)),
        )
        .order_by("direction")
    )
    counts = {row["direction"]: (row["calls"], row["answered"]) for row in per_direction}
    hours = (settlement.derive if rederive else settlement.hours)(application.pk, start, end)
    settled: dict[int, settlement.Line] = {}
    for figures in hours:
        for direction, line in figures.lines.items():
            total = settled.setdefault(direction, settlement.Line())
            total.calls += line.calls
            total.minutes += line.minutes
            total.package_minutes += line.package_minutes
    lines = []
    calls = answered = minutes = package_minutes = excess_minutes = 0
    charges = Decimal("0.00")
    for direction in sorted(set(counts) | set(settled)):
        line = settled.get(direction, settlement.Line())
        n_calls, n_answered = counts.get(direction, (0, 0))
        price = price_of(tariff, direction)
        charge = (price * line.excess_minutes).quantize(CENT)
        lines.append(
            {
                "direction": direction,
                "calls": n_calls,
                "answered": n_answered,
                "minutes": line.minutes,
                "package_minutes": line.package_minutes,
                "excess_minutes": line.excess_minutes,
                "price": str(price),
                "charge": str(charge),
            }
        )
        calls += n_calls
        answered += n_answered
        minutes += line.minutes
        package_minutes += line.package_minutes
        excess_minutes += line.excess_minutes
        charges += charge
    numbers = count_x_numbers(application, month) if x_numbers is None else x_numbers
    rent = ((tariff.monthly_rent_per_number if tariff else Decimal(0)) * numbers).quantize(CENT)
    return StatementFigures(
        calls=calls,
        answered_calls=answered,
        minutes=minutes,
        package_minutes=package_minutes,
        excess_minutes=excess_minutes,
        call_charges=charges.quantize(CENT),
        x_numbers=numbers,
        number_rent=rent,
        total=(charges + rent).quantize(CENT),
        lines=lines,
        tariff=tariff,
    )


def recompute_differences(statement: Statement) -> dict[str, tuple[Any, Any]]:
    """Recompute a statement from the CDRs (with its own number count and tariff), settling its
    hours again in memory from the package balances its month opened with.

    Returns ``{figure: (stored, recomputed)}`` for every figure that differs; empty when the
    statement still matches its CDRs.
    """
    figures = compute_statement(
        statement.application,
        statement.month,
        x_numbers=statement.x_numbers,
        tariff=statement.tariff,
        rederive=True,
    )
    differences = {}
    for name, value in figures.as_fields().items():
        if name in ("tariff", "lines"):
            continue
        stored = getattr(statement, name)
        if stored != value:
            differences[name] = (stored, value)
    return differences


def refresh_statement(application: Application, month: date, *, close: bool = False) -> Statement:
    """Create or recompute the statement of one month; ``close`` freezes it, after settling and
    storing all of its hours. Closed ones stay."""
    month = month_start(month)
    with transaction.atomic():
        statement, _ = Statement.objects.select_for_update().get_or_create(
            application=application, month=month
        )
        if statement.state == StatementState.CLOSED:
            return statement
        if close:
            settlement.settle_application(application, until=month_bounds(month)[1])
        for name, value in compute_statement(application, month).as_fields().items():
            setattr(statement, name, value)
        statement.computed_at = timezone.now()
        if close:
            statement.state = StatementState.CLOSED
            statement.closed_at = statement.computed_at
        statement.save()
    return statement


def close_statements(now: datetime | None = None) -> list[int]:
    """Beat job: close last month's statements once the platform can no longer retry its CDRs,
    and keep the open ones up to date. Safe to run any number of times.

    A month is closed only with a tariff in force: without one its charges would be frozen at
    0.00 for good. Such a statement stays open (and says so, :func:`waits_for_tariff`) and is
    recomputed and closed by the first run after a tariff valid from that month or earlier is
    added (:func:`reprice_open_statements` does it at once when the tariff is saved). Open
    statements of earlier months are closed by the same rule. Returns the ids closed by this run.
    """
    now = now or timezone.now()
    grace = settings.BILLING_STATEMENT_CLOSE_AFTER
    current = month_start(now)
    previous = month_start(current - timedelta(days=1))
    closed = []
    for application in Application.objects.order_by("pk"):
        months = set(
            Statement.objects.filter(
                application=application, state=StatementState.OPEN, month__lt=current
            ).values_list("month", flat=True)
        ) | {previous, current}
        for month in sorted(months):
            existing = Statement.objects.filter(application=application, month=month).first()
            if existing is not None and existing.state == StatementState.CLOSED:
                continue
            if existing is None and not _has_anything_to_bill(application, month):
                continue
            due = month < current and month_bounds(month)[1] + grace <= now
            close = due and tariff_for(application, month) is not None
            if due and not close:
                logger.warning(
                    "statement of %s for %s stays open: no tariff in force that month",
                    application,
                    f"{month:%Y-%m}",
                )
            statement = refresh_statement(application, month, close=close)
            if close and statement.state == StatementState.CLOSED:
                closed.append(statement.pk)
    return closed


def waits_for_tariff(statement: Statement) -> bool:
    """An open statement with something to bill and no tariff: its charges are not counted yet."""
    return (
        statement.state == StatementState.OPEN
        and statement.tariff_id is None
        and bool(statement.minutes or statement.x_numbers)
    )


def reprice_open_statements(application: Application, since: date) -> int:
    """Recompute ``application``'s open statements from ``since`` on (a tariff was added or
    changed). Closed statements keep the tariff they were closed with. Returns how many."""
    months = Statement.objects.filter(
        application=application, state=StatementState.OPEN, month__gte=month_start(since)
    ).values_list("month", flat=True)
    count = 0
    for month in list(months):
        refresh_statement(application, month)
        count += 1
    return count


def _has_anything_to_bill(application: Application, month: date) -> bool:
    start, end = month_bounds(month)
    return (
        CallRecord.objects.filter(
            application=application, started_at__gte=start, started_at__lt=end
        ).exists()
        or count_x_numbers(application, month) > 0
    )


# ---------------------------------------------------------------------------------------------
# Hourly totals for the dashboard
# ---------------------------------------------------------------------------------------------


def refresh_call_stats(
    now: datetime | None = None, settle: timedelta = timedelta(minutes=1)
) -> int:
    """Beat job: rebuild the hourly totals of every hour that received CDRs since the last run.

    The cursor only moves past records received more than ``settle`` ago, so a transaction that
    committed late is picked up by the next run; rebuilding an hour again is harmless. Returns the
    number of (application, hour) pairs rebuilt.
    """
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _ = CallStatCursor.objects.select_for_update().get_or_create(pk=1)
        fresh = CallRecord.objects.filter(id__gt=cursor.last_record_id)
        touched = sorted(
            fresh.annotate(hour=Trunc("started_at", "hour", tzinfo=UTC))
            .values_list("application_id", "hour")
            .order_by()
            .distinct()
        )
        settled = fresh.filter(received_at__lt=now - settle).aggregate(last=Max("id"))["last"]
        for application_id, first, last in _hour_ranges(touched):
            _rebuild_hours(application_id, first, last + timedelta(hours=1))
        if settled:
            cursor.last_record_id = settled
            cursor.save(update_fields=["last_record_id", "updated_at"])
    return len(touched)


def _hour_ranges(touched: list[tuple[int, datetime]]) -> Iterable[tuple[int, datetime, datetime]]:
    """Runs of consecutive hours per application, so a backlog is one query per run."""
    run: list[Any] | None = None
    for application_id, hour in touched:
        if run and run[0] == application_id and hour - run[2] <= timedelta(hours=6):
            run[2] = hour
            continue
        if run:
            yield tuple(run)  # type: ignore[misc]
        run = [application_id, hour, hour]
    if run:
        yield tuple(run)  # type: ignore[misc]


def _rebuild_hours(application_id: int, start: datetime, end: datetime) -> None:
    CallStat.objects.filter(application_id=application_id, hour__gte=start, hour__lt=end).delete()
    totals = (
        CallRecord.objects.filter(
            application_id=application_id,
            started_at__gte=start,
            started_at__lt=end,
            redial_duplicate=False,
        )
        .annotate(
            hour=Trunc("started_at", "hour", tzinfo=UTC),
            point=Coalesce("ul_fail_reason", -1),
        )
        .values("hour", "direction", "outcome", "point")
        .annotate(calls=Count("id"), minutes=Coalesce(Sum("billable_minutes"), 0))
        .order_by()
    )
    CallStat.objects.bulk_create(
        CallStat(
            application_id=application_id,
            hour=row["hour"],
            direction=row["direction"],
            outcome=row["outcome"],
            release_point=row["point"] if row["outcome"] != CallOutcome.ANSWERED else 0,
            calls=row["calls"],
            minutes=row["minutes"],
        )
        for row in _merge_answered(totals)
    )


def _merge_answered(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answered calls are one row per hour and direction whatever their release point says."""
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        point = 0 if row["outcome"] == CallOutcome.ANSWERED else row["point"]
        key = (row["hour"], row["direction"], row["outcome"], point)
        if key in merged:
            merged[key]["calls"] += row["calls"]
            merged[key]["minutes"] += row["minutes"]
        else:
            merged[key] = {**row, "point": point}
    return list(merged.values())
