"""The simulator's state in SQLite: apps, numbers, bindings, pushes, CDRs and recordings.

One connection guarded by one lock: every business rule (capacity, uniqueness) is checked and
applied inside a single locked transaction, so concurrent requests can never both take the last
free slot. SQLite in WAL mode with ``synchronous=NORMAL`` commits in microseconds, far below the
cost of the HTTP request around it, so the lock is not the bottleneck.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    app_key TEXT PRIMARY KEY,
    config TEXT NOT NULL                       -- AppConfig as JSON, numbers excluded
);
CREATE TABLE IF NOT EXISTS numbers (
    number TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    city TEXT NOT NULL,
    province TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '5',
    cause TEXT,
    x_used INTEGER NOT NULL DEFAULT 0,         -- relations with this number as X
    y_used INTEGER NOT NULL DEFAULT 0          -- AXYB relations with this number as Y
);
CREATE INDEX IF NOT EXISTS numbers_app_city ON numbers (app_key, city);
CREATE TABLE IF NOT EXISTS bindings (
    id TEXT PRIMARY KEY,                       -- subscriptionId
    seq INTEGER NOT NULL,                      -- creation order, for cursors and paging
    app_key TEXT NOT NULL,
    kind TEXT NOT NULL,                        -- AXB, AX, AXE, AXYB (the AX part), YB
    x TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT,
    y TEXT,
    ext TEXT,
    parent TEXT,                               -- YB: the AXYB binding it hangs on
    created REAL NOT NULL,
    modified REAL NOT NULL,
    expires REAL,                              -- real time; NULL = permanent
    data TEXT NOT NULL                         -- the remaining fields as JSON
);
CREATE INDEX IF NOT EXISTS bindings_x_a ON bindings (x, a);
CREATE INDEX IF NOT EXISTS bindings_x_b ON bindings (x, b);
CREATE INDEX IF NOT EXISTS bindings_a ON bindings (a, kind);
CREATE INDEX IF NOT EXISTS bindings_y ON bindings (y);
CREATE INDEX IF NOT EXISTS bindings_parent ON bindings (parent);
CREATE INDEX IF NOT EXISTS bindings_app_seq ON bindings (app_key, seq);
CREATE INDEX IF NOT EXISTS bindings_x_seq ON bindings (x, seq);
CREATE INDEX IF NOT EXISTS bindings_expires ON bindings (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS callbacks (         -- AXE callback records: who last called A via X
    x TEXT NOT NULL,
    a TEXT NOT NULL,
    caller TEXT NOT NULL,
    expires REAL,
    PRIMARY KEY (x, a)
);
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_key TEXT NOT NULL,
    kind TEXT NOT NULL,                        -- event, fee, numStatus, sms, xcallin
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    scheme TEXT NOT NULL,
    created REAL NOT NULL,
    first_failure REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    max_retries INTEGER NOT NULL,
    state TEXT NOT NULL,                       -- pending, sending, delivered, failed
    next_at REAL NOT NULL,
    context TEXT,                              -- what to do with the answer (Block flows)
    order_key TEXT,                            -- pushes of one call go out one after another
    headers TEXT                               -- the first attempt's signed headers (JSON)
);
CREATE INDEX IF NOT EXISTS pushes_due ON pushes (state, next_at);
CREATE INDEX IF NOT EXISTS pushes_order ON pushes (order_key, id) WHERE order_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS push_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    push_id INTEGER NOT NULL,
    at REAL NOT NULL,
    seconds REAL NOT NULL,
    status INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS push_attempts_push ON push_attempts (push_id);
CREATE TABLE IF NOT EXISTS cdr_buffer (        -- CDRs waiting to be merged into one fee push
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_key TEXT NOT NULL,
    created REAL NOT NULL,
    cdr TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recordings (
    object_name TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    domain TEXT NOT NULL,
    bucket TEXT NOT NULL,
    session_id TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    seed TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,                              -- set when the CDR is pushed
    sha256 TEXT
);
CREATE TABLE IF NOT EXISTS record_links (
    token TEXT PRIMARY KEY,
    object_name TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Bump when SCHEMA changes incompatibly; a state file of another version is refused, not misread.
SCHEMA_VERSION = "1"

DYNAMIC_TABLES = (
    "bindings",
    "callbacks",
    "pushes",
    "push_attempts",
    "cdr_buffer",
    "recordings",
    "record_links",
)


class Store:
    """A locked SQLite connection. Use :meth:`tx` for every read and write."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = str(path) if path else ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._check_version()
        self._add_columns()
        # A push caught mid-send by a stop is sent again: the platform retries, never drops.
        self._db.execute("UPDATE pushes SET state='pending' WHERE state='sending'")
        self._depth = 0
        row = self._db.execute("SELECT MAX(seq) FROM bindings").fetchone()
        self._seq = row[0] or 0
        logger.info("state in %s", self.path)

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
        elif row["value"] != SCHEMA_VERSION:
            raise RuntimeError(
                f"state file {self.path} has schema {row['value']}, this simulator needs "
                f"{SCHEMA_VERSION}: delete the file (or use --state elsewhere)"
            )

    def _add_columns(self) -> None:
        """Columns added since schema 1, added to an older state file in place."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(pushes)")}
        if "headers" not in columns:
            self._db.execute("ALTER TABLE pushes ADD COLUMN headers TEXT")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One locked transaction (re-entrant: nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def next_seq(self) -> int:
        """The next binding sequence number (callers hold the lock, inside :meth:`tx`)."""
        with self._lock:
            self._seq += 1
            return self._seq

    def reset(self) -> None:
        """Forget every binding, push, CDR and recording; apps and numbers stay."""
        with self.tx() as db:
            for table in DYNAMIC_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("UPDATE numbers SET x_used=0, y_used=0")

    def close(self) -> None:
        with self._lock:
            self._db.close()
