"""CDRs pushed by the platform: parsed rows inserted once (the PostgreSQL fast path and its ORM
twin), the ``cdrs_ingested`` signal sent in the push's transaction."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache, partial

import orjson
from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone

from billing import signals
from billing.choices import CallOutcome
from billing.models import (
    CallRecord,
)
from bindings import modes
from bindings.models import Binding
from console.models import Application, Delivery
from console.sql import prepared_cursor
from privatenumber import codes
from privatenumber.schemas import (
    GLOBAL_NUMBER_RE,
    FeeInfo,
    FeePush,
)

logger = logging.getLogger(__name__)

_OUTCOMES = frozenset(CallOutcome.values)
# privatenumber.schemas.is_global_number without its call and bool(), for _row
_is_global_number = GLOBAL_NUMBER_RE.fullmatch


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
_STARTED = CDR_FIELDS.index("started_at")
_RECORD_FLAG = CDR_FIELDS.index("record_flag")


def _row(fee: FeeInfo, binding_id: int | None, expects_binding: bool, now: datetime) -> tuple:
    """One CDR as the tuple of ``_CDR_COLUMNS``.

    Run fifty times a push, so written for it (issue 19): each field read once, and each
    distinct number checked once (the X number is usually bindNum, calleeNum and fwdDisplayNum at
    once). The minutes are :func:`billable_minutes`'s, the rule's one home.
    """
    sub = fee.subscription_id or ""
    call_in, answered, ended = fee.call_in_time, fee.fwd_answer_time, fee.call_end_time
    redial_duplicate = bool(sub) and call_in is None
    talk = int((ended - answered).total_seconds()) if answered and ended and ended > answered else 0
    minutes = 0 if redial_duplicate else billable_minutes(answered, ended)
    caller, callee, bind_num = fee.caller_num, fee.callee_num, fee.bind_num
    display, destination = fee.fwd_display_num, fee.fwd_dst_num
    malformed = False
    for number in {caller, callee, bind_num, display, destination}:
        if number and not _is_global_number(number):
            malformed = True
            break
    forwarded, failed = fee.fwd_start_time, fee.fail_time
    return (
        binding_id,
        cdr_key(fee),
        fee.direction,
        fee.sp_id,
        fee.icid or "",
        bind_num or "",
        fee.session_id,
        sub,
        caller,
        callee,
        display or "",
        destination or "",
        call_in,
        forwarded,
        fee.fwd_alerting_time,
        answered,
        ended,
        fee.fwd_unasw_rsn,
        failed,
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
        call_in or forwarded or ended or failed or now,
        talk,
        minutes,
        outcome_of(fee),
        redial_duplicate,
        expects_binding and not sub,
        malformed,
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


def encode_rows(rows: list[tuple]) -> str:
    """The rows as one JSON array of arrays, datetimes as ISO 8601 with their offset.

    orjson, in C: a fourth of pydantic-core's ``to_json`` (which infers each value's type through
    its serializer machinery) and a sixteenth of ``json.dumps`` (which calls back into Python for
    every datetime); 50 rows of 42 values are ~0.1 ms.
    """
    return orjson.dumps(rows).decode()


def _insert_postgresql(
    application: Application, delivery_id: int | None, now: datetime, rows: list[tuple]
) -> list[tuple[int, str, int | None]]:
    """One statement per batch: ``INSERT … SELECT FROM jsonb_array_elements(…) LEFT JOIN
    bindings … ON CONFLICT (natural key) DO NOTHING RETURNING``; it links each CDR to its binding
    too.

    The batch travels as one JSON array of row arrays (:func:`encode_rows`), where psycopg
    adapting forty Python lists to typed arrays took twice as long as PostgreSQL's whole insert.
    The statement is prepared once per connection and the JSON travels as a parameter, not
    escaped into the text (:func:`console.sql.prepared_cursor`).
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
        # the natural key as the only arbiter: ids come from the sequence and never conflict, so
        # checking the primary key too before each row was work for nothing
        "ON CONFLICT (cdr_key, application_id, started_at) DO NOTHING "
        "RETURNING id, cdr_key, binding_id"
    )
    batch = encode_rows(rows)
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
    existing = set(  # the natural key, as PostgreSQL's ON CONFLICT judges it
        CallRecord.objects.filter(application=application, cdr_key__in=keys).values_list(
            "cdr_key", "started_at"
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
        if (row[_KEY], row[_STARTED]) not in existing
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

    Keyed on :func:`cdr_key` and the start time (the partition key) within the application: a
    CDR seen before (the platform retried the push) is skipped, never stored or billed twice.
    Each CDR is linked to its binding by subscriptionId (one query per batch). Must run inside a
    transaction; sends :data:`billing.signals.cdrs_ingested` with the CallRecords created.
    """
    if not fees:
        return 0
    now = now or timezone.now()
    expects_binding = modes.has_bindings(application.mode)  # X mode has none on the platform
    rows: dict[str, tuple] = {}
    for fee in fees:
        row = _row(fee, None, expects_binding, now)  # the insert links the binding
        rows.setdefault(row[_KEY], row)  # the same CDR twice in one push counts once
    timeless = [key for key, row in rows.items() if row[_STARTED] is now]
    if timeless:
        for key in _known_keys(application, timeless):
            del rows[key]
        if not rows:
            return 0
    delivery_id = delivery.pk if delivery is not None else None
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_portable
    created = insert(application, delivery_id, now, list(rows.values()))
    if created and signals.cdrs_ingested.has_listeners(CallRecord):
        records = SavedCallRecords(
            partial(_saved_records, application, delivery_id, now, rows, created), len(created)
        )
        recorded = sum(1 for _pk, key, _binding in created if rows[key][_RECORD_FLAG] == 1)
        signals.cdrs_ingested.send(
            sender=CallRecord, application=application, call_records=records, recorded=recorded
        )
    return len(created)


class SavedCallRecords(Sequence):
    """The CallRecords one ingest created, built when first read (:func:`_saved_records`).

    A push of calls that were not recorded, for an application without webhooks, has nobody who
    reads them: building fifty instances then cost a few percent of the push's CPU for nothing
    (issue 19). Its length is known without building them.
    """

    def __init__(self, build: Callable[[], list[CallRecord]], count: int) -> None:
        self._build = build
        self._count = count
        self._records: list[CallRecord] | None = None

    def _built(self) -> list[CallRecord]:
        if self._records is None:
            self._records = self._build()
        return self._records

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        return self._built()[index]

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(self._built())


def _known_keys(application: Application, keys: list[str]) -> set[str]:
    """Which of these CDRs, pushed with no time at all, are stored already.

    Such a CDR starts when it was received (``_row``), so a retried push would carry another
    ``started_at`` and pass the natural key (which ends in it, the partition key): these few are
    looked up by key alone. On PostgreSQL a transaction-scoped advisory lock per key makes two
    pushes of the same one at once wait for each other (the second then finds the first's row).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for key in sorted(keys):  # in one order: two pushes never wait for each other's keys
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
                    [key, application.pk],
                )
    return set(
        CallRecord._base_manager.filter(application=application, cdr_key__in=keys).values_list(
            "cdr_key", flat=True
        )
    )


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
