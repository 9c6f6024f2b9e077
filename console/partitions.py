"""Monthly range partitions of the history tables on PostgreSQL (issue 20, docs/operations.md).

CDRs, call events and SMS records only grow: a ride-hailing company's 90 days are hundreds of
millions of rows. On PostgreSQL each of them is a declaratively partitioned table, by calendar
month of its time column (:class:`Monthly`), with:

* one partition per month of ``TIME_ZONE`` (the months of statements and of the calls list's
  filters, so that each reads one partition), ``<table>_pYYYY_MM``, created ahead by beat
  (:func:`ensure`), and a DEFAULT partition ``<table>_pdefault`` for a row of a month that has
  none (a late CDR of a month already dropped, a clock far ahead): no push is ever refused for its
  date. :func:`ensure` moves such rows into their month's partition when it creates it;
* the primary key ``(id, <column>)`` and every unique constraint ending in the column (PostgreSQL
  requires the partition key in both). Django still sees ``id`` as the key; ids stay unique, drawn
  from one identity sequence;
* the indexes and constraints under the names the migrations gave the ordinary table
  (partitioned indexes), so that later migrations still find them.

A query bounded on the column reads only the months it needs (partition pruning: the calls list's
day filters, statements, retention). Retention detaches and drops a whole month
(:func:`drop_before`) instead of deleting its rows one by one. SQLite (the embedded default) has
no partitioning: there every function here does nothing, and callers delete rows instead.

:func:`convert` turns an existing installation's ordinary table into a partitioned one in its
migration (``billing/migrations``), keeping every row and id; :func:`revert` undoes it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import OperationalError, transaction
from django.db import connection as default_connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# Months created ahead of the current one by beat (and by the conversion).
MONTHS_AHEAD = 3
# A partition is created or dropped under a short lock timeout: it never queues behind a long
# reader while every writer queues behind it; the next run tries again.
LOCK_TIMEOUT = "5s"

_MONTH_SUFFIX = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class Monthly:
    """A table partitioned by month of ``column`` (a ``timestamptz``)."""

    table: str
    column: str

    def partition(self, month: date) -> str:
        return f"{self.table}_p{month:%Y_%m}"

    @property
    def default(self) -> str:
        return f"{self.table}_pdefault"


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_start(moment: datetime | date) -> date:
    """The first day of the local month (``TIME_ZONE``) holding ``moment``."""
    if isinstance(moment, datetime) and timezone.is_aware(moment):
        moment = moment.astimezone(zone())
    return date(moment.year, moment.month, 1)


def start_of(month: date) -> datetime:
    """The aware moment a month begins: local midnight of its first day."""
    return datetime(month.year, month.month, 1, tzinfo=zone())


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _bound(month: date) -> str:
    return f"'{start_of(month).isoformat()}'"


def _q(name: str) -> str:
    return default_connection.ops.quote_name(name)


def supported(connection=default_connection) -> bool:
    return connection.vendor == "postgresql"


def is_partitioned(table: str, connection=default_connection) -> bool:
    if not supported(connection):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def months(spec: Monthly, connection=default_connection) -> list[date]:
    """The months that have a partition, oldest first (the DEFAULT partition is not one)."""
    if not is_partitioned(spec.table, connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [spec.table],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _MONTH_SUFFIX.search(name)
        if match and name == spec.partition(date(int(match[1]), int(match[2]), 1)):
            found.append(date(int(match[1]), int(match[2]), 1))
    return sorted(found)


def _create_month(cursor, spec: Monthly, month: date) -> None:
    cursor.execute(
        f"CREATE TABLE {_q(spec.partition(month))} PARTITION OF {_q(spec.table)} "
        f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(add_months(month, 1))})"
    )


def ensure(spec: Monthly, *, ahead: int = MONTHS_AHEAD, now: datetime | None = None) -> list[str]:
    """Beat: the partitions of this month and the ``ahead`` next ones; the names created.

    Rows of such a month already in the DEFAULT partition are moved into the new partition in the
    same transaction (DEFAULT detached meanwhile, so PostgreSQL does not refuse the new bounds).
    """
    if not is_partitioned(spec.table):
        return []
    first = month_start(now or timezone.now())
    have = set(months(spec))
    created = []
    for month in (add_months(first, step) for step in range(ahead + 1)):
        if month in have:
            continue
        if not _locked_in_time(_make_month, spec, month):
            break  # the next run carries on from here
        created.append(spec.partition(month))
    return created


def _locked_in_time(step, spec: Monthly, month: date) -> bool:
    """Run one partition's DDL in its own transaction; False (logged) when its lock did not come
    within ``LOCK_TIMEOUT``: nothing of it is left, and the next beat run tries again."""
    try:
        with transaction.atomic():
            step(spec, month)
    except OperationalError as error:
        logger.warning(
            "%s, month %s: not now (%s); the next run tries again", spec.table, month, error
        )
        return False
    return True


def _make_month(spec: Monthly, month: date) -> None:
    """Make one month's partition, moving in its rows waiting in DEFAULT (in the caller's
    transaction)."""
    with default_connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        within = (
            f"{_q(spec.column)} >= {_bound(month)} "
            f"AND {_q(spec.column)} < {_bound(add_months(month, 1))}"
        )
        cursor.execute(f"SELECT 1 FROM {_q(spec.default)} WHERE {within} LIMIT 1")  # noqa: S608
        if cursor.fetchone() is None:
            _create_month(cursor, spec, month)
        else:
            cursor.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(spec.default)}")
            _create_month(cursor, spec, month)
            cursor.execute(
                f"INSERT INTO {_q(spec.table)} "  # noqa: S608 - our names
                f"SELECT * FROM {_q(spec.default)} WHERE {within}"
            )
            cursor.execute(f"DELETE FROM {_q(spec.default)} WHERE {within}")  # noqa: S608
            cursor.execute(
                f"ALTER TABLE {_q(spec.table)} ATTACH PARTITION {_q(spec.default)} DEFAULT"
            )


def drop_before(spec: Monthly, before: date) -> list[str]:
    """Detach and drop every month ending on or before ``before`` (a month's first day), and
    delete the DEFAULT partition's rows older than it; the partitions dropped. A month whose lock
    does not come in time stops the run there (logged); the next run carries on."""
    if not is_partitioned(spec.table):
        return []
    dropped = []
    for month in months(spec):
        if add_months(month, 1) > before:
            break
        if not _locked_in_time(_drop_month, spec, month):
            return dropped
        dropped.append(spec.partition(month))
    with default_connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_q(spec.default)} "  # noqa: S608 - our names
            f"WHERE {_q(spec.column)} < {_bound(before)}"
        )
    return dropped


def _drop_month(spec: Monthly, month: date) -> None:
    with default_connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(spec.partition(month))}")
        cursor.execute(f"DROP TABLE {_q(spec.partition(month))}")


# --- Conversion (the migration) ------------------------------------------------------------------


def _structure(cursor, table: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The table's own constraints (name, kind, definition; NOT NULL and CHECK travel with
    ``LIKE … INCLUDING CONSTRAINTS``) and its indexes that no constraint owns (name, CREATE
    statement, naming the table as it is now)."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f') ORDER BY contype, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid) ORDER BY 1",
        [table],
    )
    # A partitioned table's index reads "CREATE INDEX … ON ONLY …", which would build it on no
    # partition: rebuilt, it is built on all of them.
    indexes = [(name, sql.replace(" ON ONLY ", " ON ", 1)) for name, sql in cursor.fetchall()]
    return constraints, indexes


def _columns(definition: str) -> list[str]:
    inside = definition[definition.index("(") + 1 : definition.index(")")]
    return [name.strip().strip('"') for name in inside.split(",")]


def _rebuild(spec: Monthly, connection, *, partitioned: bool, now: datetime | None) -> None:
    table, column = spec.table, spec.column
    quote = connection.ops.quote_name
    old = f"{table}__rebuilt"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint "
            "WHERE confrelid = to_regclass(%s) AND conrelid <> confrelid",
            [table],
        )
        referring = [row[0] for row in cursor.fetchall()]
        if referring:
            raise RuntimeError(
                f"{table} cannot be rebuilt while foreign keys of {', '.join(referring)} refer "
                "to it: declare them with db_constraint=False first."
            )
        constraints, indexes = _structure(cursor, table)
        for name, kind, definition in constraints:
            if kind == "u" and column not in _columns(definition):
                raise RuntimeError(
                    f"{table}: the unique constraint {name} must include {column}, the "
                    "partition key."
                )
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 - catalog's
        last_value, is_called = cursor.fetchone()

        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(old)}")
        for name, kind, _ in constraints:
            if kind in ("p", "u"):
                cursor.execute(f"ALTER TABLE {quote(old)} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        like = "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING STORAGE"
        tail = f" PARTITION BY RANGE ({quote(column)})" if partitioned else ""
        cursor.execute(f"CREATE TABLE {quote(table)} (LIKE {quote(old)} {like}){tail}")

        if partitioned:
            month_of = f"date_trunc('month', {quote(column)} AT TIME ZONE %s)::date"
            cursor.execute(
                f"SELECT DISTINCT {month_of} FROM {quote(old)}",  # noqa: S608 - our names
                [settings.TIME_ZONE],
            )
            wanted = {row[0] for row in cursor.fetchall()}
            first = month_start(now or timezone.now())
            wanted |= {add_months(first, step) for step in range(MONTHS_AHEAD + 1)}
            for month in sorted(wanted):
                _create_month(cursor, spec, month)
            cursor.execute(
                f"CREATE TABLE {quote(spec.default)} PARTITION OF {quote(table)} DEFAULT"
            )
        cursor.execute(f"INSERT INTO {quote(table)} SELECT * FROM {quote(old)}")  # noqa: S608

        for name, kind, definition in constraints:
            if kind == "p":
                keys = [c for c in _columns(definition) if c != column]
                if partitioned:
                    keys.append(column)
                definition = f"PRIMARY KEY ({', '.join(quote(c) for c in keys)})"
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        for _, statement in indexes:
            cursor.execute(statement)
        cursor.execute(f"DROP TABLE {quote(old)}")
        # The next id follows both the old sequence and the rows (ids are never given twice).
        cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {quote(table)}")  # noqa: S608
        (highest,) = cursor.fetchone()
        used = max(highest, last_value if is_called else last_value - 1)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
            [table, max(used, 1), used >= 1],
        )


def convert(spec: Monthly, connection=default_connection, *, now: datetime | None = None) -> None:
    """Make the ordinary table ``spec.table`` partitioned by month, keeping every row, id,
    constraint and index (a no-op on SQLite or when it is partitioned already).

    One transaction (the migration's): the table is unavailable while its rows are copied, at
    about the speed of ``INSERT … SELECT`` plus an index build (docs/operations.md).
    """
    if supported(connection) and not is_partitioned(spec.table, connection):
        _rebuild(spec, connection, partitioned=True, now=now)


def revert(spec: Monthly, connection=default_connection) -> None:
    """The opposite of :func:`convert`: one ordinary table holding every row again."""
    if is_partitioned(spec.table, connection):
        _rebuild(spec, connection, partitioned=False, now=None)
