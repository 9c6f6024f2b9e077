"""Billing's history by month: CDRs, call events and SMS records (issue 20, docs/operations.md).

On PostgreSQL the three tables are partitioned by month (:mod:`console.partitions`; converted by
``billing/migrations/0011_partition_history.py``). Beat (:func:`maintain`) creates the coming
months' partitions ahead and applies the **history retention**: once every application's policy
sets ``call_history_months``, the months older than the longest of them
(:func:`console.retention.history_cutoff`) are detached and dropped whole, never deleted row by
row. On SQLite (the embedded default) the same months' rows
are deleted in batches: the same rule, the same result.

Statements, settled hours and hourly figures live in their own tables and stay. Before a month of
CDRs goes, :data:`billing.signals.history_dropping` lets the apps that point at CDRs let go of
them (recordings deletes the month's recordings and their files; reconciliation differences keep
their text).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from billing.models import BillDifference, CallEvent, CallRecord, SmsRecord
from billing.signals import history_dropping
from console import audit, partitions, retention
from console.choices import AuditAction

logger = logging.getLogger(__name__)

# Rows deleted per transaction where months cannot be dropped whole (SQLite).
DELETE_BATCH = 5000


@dataclass(frozen=True)
class History:
    """One history table: its model and its time column (the partition key)."""

    model: type[Model]
    field: str

    @property
    def spec(self) -> partitions.Monthly:
        return partitions.Monthly(
            self.model._meta.db_table, self.model._meta.get_field(self.field).column
        )


TABLES = (
    History(CallRecord, "started_at"),
    History(CallEvent, "timestamp"),
    History(SmsRecord, "time_stamp"),
)


def _delete_rows(table: History, before: datetime) -> int:
    """Where months are not partitions: delete the rows, a batch per transaction."""
    deleted = 0
    manager = table.model._base_manager
    while True:
        with transaction.atomic():
            ids = list(
                manager.filter(**{f"{table.field}__lt": before}).values_list("pk", flat=True)[
                    :DELETE_BATCH
                ]
            )
            if not ids:
                return deleted
            deleted += manager.filter(pk__in=ids).delete()[0]


def drop_history(before: date) -> dict[str, int | list[str]]:
    """Remove every CDR, call event and SMS record of the months before ``before``: whole
    partitions on PostgreSQL, rows elsewhere. Returns what went, per table."""
    moment = partitions.start_of(before)
    history_dropping.send(sender=CallRecord, before=moment)
    # A reconciliation difference names its call by text too (call_id); its link would dangle.
    # (Few rows: each looked up by its CDR's id.)
    old_calls = CallRecord._base_manager.filter(started_at__lt=moment).values("id")
    BillDifference.objects.filter(call_record_id__in=old_calls).update(call_record=None)
    gone: dict[str, int | list[str]] = {}
    for table in TABLES:
        spec = table.spec
        if partitions.is_partitioned(spec.table):
            gone[spec.table] = partitions.drop_before(spec, before)
        else:
            gone[spec.table] = _delete_rows(table, moment)
    return gone


def maintain(now: datetime | None = None) -> dict[str, object]:
    """Beat (daily): partitions ahead, then the history retention; what it did."""
    now = now or timezone.now()
    report: dict[str, object] = {
        "created": [name for table in TABLES for name in partitions.ensure(table.spec, now=now)]
    }
    before = retention.history_cutoff(now=now)
    if before is not None:
        dropped = drop_history(before)
        if any(dropped.values()):
            report["dropped"] = dropped
            audit.record(
                AuditAction.DELETE,
                CallRecord,
                label="call history",
                details={"reason": "history retention", "before": before.isoformat(), **dropped},
            )
            logger.info("history before %s removed: %s", before, dropped)
    return report
