"""Platform-to-customer pushes (spec §6): a persistent queue, signed delivery, the retry schedule.

Every push is a row in the store before anything is sent, so pushes and their retry state survive
a restart. A dispatcher thread hands due rows to a small pool of worker threads; each attempt has a
timeout, so a slow console delays only its own pushes. A push not answered 2xx is retried at 1, 4,
9, 106, 203 and 300 minutes after the original failure (divided by the time scale), at most six
times, then marked failed. Whether the platform signs a retry anew or sends it with the header of
its first attempt is not documented: ``retry_header`` "resign" (the default) signs every attempt,
"reuse" keeps the first attempt's header (same Nonce and Created) for every retry.

CDRs are not pushed one by one: calls put them into a buffer, and the dispatcher merges what ended
close together (a short flush window) into ``fee`` messages of at most 50 CDRs.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from privatenumber.auth import build_headers
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.modes.pool import Pool, fmt_time
from simulator.store import Store

logger = logging.getLogger(__name__)

CDRS_PER_MESSAGE = 50
JSON_TYPE = "application/json;charset=UTF-8"

# Answer hooks: kind -> callable(push row, HTTP status or None, response body) run after an attempt
# that got an answer; Block flows (SMS, X-mode callin) continue from there.
AnswerHook = Callable[[sqlite3.Row, int | None, bytes], None]


def _marks(items: list[Any]) -> str:
    """SQL placeholders for an IN list of ``items``."""
    return ",".join("?" * len(items))


class PushQueue:
    """The push queue, its dispatcher thread and its worker pool."""

    def __init__(
        self,
        store: Store,
        platform: Pool,
        *,
        default_scheme: str = "AKSK",
        workers: int = 8,
        timeout: float = 5.0,
        cdr_window: float = 0.3,
        retry_header: str = unconfirmed.PUSH_RETRY_HEADER_DEFAULT,
    ) -> None:
        if retry_header not in unconfirmed.PUSH_RETRY_HEADER_MODES:
            raise ValueError(f"retry_header must be one of {unconfirmed.PUSH_RETRY_HEADER_MODES}")
        self.store = store
        self.retry_header = retry_header
        self.platform = platform
        self.default_scheme = default_scheme
        self.timeout = timeout
        self.cdr_window = cdr_window
        self.workers = workers
        self.hooks: dict[str, AnswerHook] = {}
        self.on_cdrs_pushed: Callable[[sqlite3.Connection, list[dict[str, Any]]], None] | None = (
            None
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="push")
        self._thread = threading.Thread(target=self._run, name="push-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def quiesce(self, timeout: float | None = None) -> bool:
        """Stop claiming pushes and wait until none is in flight; :meth:`resume` undoes it.

        A reset uses this as a barrier: once it returns, no push queued before is still on its
        way to the customer (and so cannot land in the next test).
        """
        self._paused.set()
        deadline = time.monotonic() + (self.timeout + 2 if timeout is None else timeout)
        while time.monotonic() < deadline:
            with self.store.tx(), self._inflight_lock:
                if self._inflight == 0:
                    return True
            time.sleep(0.005)
        return False

    def resume(self) -> None:
        self._paused.clear()
        self._wake.set()

    # --- enqueueing (inside the caller's transaction) ---------------------------------------------

    @staticmethod
    def url_for(app: AppConfig, kind: str, *, block: bool = False) -> str:
        if kind in ("event", "xcallin"):
            return app.status_url
        if kind == "fee":
            return app.fee_url
        if kind == "numStatus":
            return (app.xstatus_url or app.status_url) if app.push_xstatus else ""
        if kind == "sms":
            return (app.sms_control_url or app.sms_url) if block else app.sms_url
        raise ValueError(f"unknown push kind {kind}")

    def enqueue(
        self,
        db: sqlite3.Connection,
        app: AppConfig,
        kind: str,
        body: dict[str, Any],
        *,
        block: bool = False,
        context: dict[str, Any] | None = None,
        order_key: str | None = None,
    ) -> int | None:
        """Queue one push; None when the app has no URL for this kind (nothing is sent).

        Pushes sharing an ``order_key`` (the events of one call) are sent one after another: one
        waits while an earlier one is being sent or has not had its first attempt yet.
        """
        url = self.url_for(app, kind, block=block)
        if not url:
            logger.debug("app %s has no URL for %s pushes; not sent", app.app_key, kind)
            return None
        now = time.time()
        max_retries = (
            len(unconfirmed.RETRY_OFFSETS_MINUTES) if kind in unconfirmed.RETRIED_KINDS else 0
        )
        cursor = db.execute(
            "INSERT INTO pushes (app_key, kind, url, body, scheme, created, max_retries, state, "
            "next_at, context, order_key) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (
                app.app_key,
                kind,
                url,
                json.dumps(body, ensure_ascii=False),
                app.push_scheme or self.default_scheme,
                now,
                max_retries,
                now,
                json.dumps(context) if context is not None else None,
                order_key,
            ),
        )
        self._wake.set()
        return cursor.lastrowid

    def add_cdrs(self, db: sqlite3.Connection, app: AppConfig, cdrs: list[dict[str, Any]]) -> None:
        now = time.time()
        db.executemany(
            "INSERT INTO cdr_buffer (app_key, created, cdr) VALUES (?, ?, ?)",
            [(app.app_key, now, json.dumps(cdr, ensure_ascii=False)) for cdr in cdrs],
        )
        self._wake.set()

    # --- the dispatcher ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = min(self._flush_cdrs(), self._dispatch_due())
            except Exception:
                logger.exception("push dispatcher failed; going on")
                wait = 0.5
            self._wake.wait(timeout=max(0.005, wait))
            self._wake.clear()

    def _flush_cdrs(self) -> float:
        """Merge buffered CDRs into fee pushes; returns seconds until the next flush is due."""
        now = time.time()
        wait = 0.5
        with self.store.tx() as db:
            groups = db.execute(
                "SELECT app_key, COUNT(*) AS n, MIN(created) AS oldest FROM cdr_buffer "
                "GROUP BY app_key"
            ).fetchall()
            for group in groups:
                count, oldest = group["n"], group["oldest"]
                while count >= CDRS_PER_MESSAGE or (count and oldest + self.cdr_window <= now):
                    rows = db.execute(
                        "SELECT id, cdr FROM cdr_buffer WHERE app_key=? ORDER BY id LIMIT ?",
                        (group["app_key"], CDRS_PER_MESSAGE),
                    ).fetchall()
                    db.execute(
                        f"DELETE FROM cdr_buffer WHERE id IN ({_marks(rows)})",  # noqa: S608
                        [r["id"] for r in rows],
                    )
                    count -= len(rows)
                    cdrs = [json.loads(r["cdr"]) for r in rows]
                    app = self.platform.app(group["app_key"])
                    if app is not None:
                        self.enqueue(db, app, "fee", {"eventType": "fee", "feeLst": cdrs})
                    if self.on_cdrs_pushed:
                        self.on_cdrs_pushed(db, cdrs)
                if count:
                    wait = min(wait, oldest + self.cdr_window - now)
        return wait

    def _dispatch_due(self) -> float:
        """Hand due pushes to the workers; returns seconds until the next one is due."""
        now = time.time()
        with self.store.tx() as db:
            # Checked and counted under the store lock, so quiesce() sees every claimed push.
            if self._paused.is_set():
                return 0.05
            with self._inflight_lock:
                free = self.workers * 4 - self._inflight
            rows = []
            if free > 0:
                rows = db.execute(
                    "SELECT * FROM pushes p WHERE state='pending' AND next_at<=? AND NOT EXISTS "
                    "(SELECT 1 FROM pushes q WHERE q.order_key=p.order_key AND q.id<p.id AND "
                    "(q.state='sending' OR (q.state='pending' AND q.retries=0))) "
                    "ORDER BY next_at LIMIT ?",
                    (now, free),
                ).fetchall()
                if rows:
                    db.execute(
                        f"UPDATE pushes SET state='sending' WHERE id IN ({_marks(rows)})",  # noqa: S608
                        [r["id"] for r in rows],
                    )
                    with self._inflight_lock:
                        self._inflight += len(rows)
            following = db.execute(
                "SELECT MIN(next_at) FROM pushes WHERE state='pending'"
            ).fetchone()[0]
        assert self._pool is not None
        for row in rows:
            self._pool.submit(self._attempt, row)
        if rows and len(rows) == free:
            return 0.05
        return 0.5 if following is None else min(0.5, following - now)

    # --- one attempt ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # pushes go where the app says, never through a proxy
            self._local.session = session
        return session

    def _attempt(self, row: sqlite3.Row) -> None:
        try:
            self._attempt_inner(row)
        except Exception:
            logger.exception("push %s: attempt failed unexpectedly", row["id"])
        finally:
            with self._inflight_lock:
                self._inflight -= 1
            self._wake.set()

    def _attempt_inner(self, row: sqlite3.Row) -> None:
        app = self.platform.app(row["app_key"])
        status: int | None = None
        error: str | None = None
        answer = b""
        started = time.time()
        if app is None:
            error = "application no longer exists"
        else:
            headers = self._headers(row, app)
            try:
                response = self._session().post(
                    row["url"],
                    data=row["body"].encode("utf-8"),
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                status, answer = response.status_code, response.content
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        finished = time.time()
        delivered = status is not None and status in unconfirmed.SUCCESS_STATUSES
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO push_attempts (push_id, at, seconds, status, error) VALUES "
                "(?, ?, ?, ?, ?)",
                (row["id"], started, finished - started, status, error),
            )
            current = db.execute("SELECT * FROM pushes WHERE id=?", (row["id"],)).fetchone()
            if current is None:  # reset while in flight
                return
            if delivered:
                db.execute("UPDATE pushes SET state='delivered' WHERE id=?", (row["id"],))
            else:
                self._schedule_retry(db, current, started)
        # Block flows go on after an answer, or give up when a push that is never retried failed.
        hook = self.hooks.get(row["kind"])
        if hook is not None and (delivered or row["max_retries"] == 0):
            hook(row, status if delivered else None, answer)
        if not delivered:
            logger.info(
                "push %s (%s) to %s failed: %s", row["id"], row["kind"], row["url"], error or status
            )

    def _headers(self, row: sqlite3.Row, app: AppConfig) -> dict[str, str]:
        """The signed headers of this attempt: new ones, or the first attempt's when reused."""
        if self.retry_header == "reuse" and row["headers"]:
            return json.loads(row["headers"])
        headers = build_headers(app.app_key, app.app_secret, row["scheme"])
        headers["Content-Type"] = JSON_TYPE
        if self.retry_header == "reuse":
            with self.store.tx() as db:
                db.execute(
                    "UPDATE pushes SET headers=? WHERE id=? AND headers IS NULL",
                    (json.dumps(headers), row["id"]),
                )
        return headers

    def _schedule_retry(self, db: sqlite3.Connection, push: sqlite3.Row, failed_at: float) -> None:
        first = push["first_failure"] or failed_at
        retries = push["retries"]
        if retries >= push["max_retries"]:
            db.execute(
                "UPDATE pushes SET state='failed', first_failure=? WHERE id=?", (first, push["id"])
            )
            return
        offset = unconfirmed.RETRY_OFFSETS_MINUTES[retries] * 60 / self.platform.time_scale
        db.execute(
            "UPDATE pushes SET state='pending', first_failure=?, retries=?, next_at=? WHERE id=?",
            (first, retries + 1, first + offset, push["id"]),
        )

    # --- for the control API ----------------------------------------------------------------------

    def list(
        self,
        *,
        kind: str | None = None,
        app_key: str | None = None,
        state: str | None = None,
        since_id: int = 0,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        where, args = "id>?", [since_id]
        for column, value in (("kind", kind), ("app_key", app_key), ("state", state)):
            if value:
                where, args = f"{where} AND {column}=?", [*args, value]
        with self.store.tx() as db:
            rows = db.execute(
                f"SELECT * FROM pushes WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608
                (*args, limit),
            ).fetchall()
            attempts: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
            if rows:
                for a in db.execute(
                    f"SELECT * FROM push_attempts WHERE push_id IN ({_marks(rows)}) "  # noqa: S608
                    "ORDER BY id",
                    list(attempts),
                ):
                    attempts[a["push_id"]].append(
                        {
                            "at": a["at"],
                            "time": fmt_time(a["at"]),
                            "seconds": round(a["seconds"], 4),
                            "status": a["status"],
                            "error": a["error"],
                        }
                    )
        return [
            {
                "id": r["id"],
                "appKey": r["app_key"],
                "kind": r["kind"],
                "url": r["url"],
                "scheme": r["scheme"],
                "state": r["state"],
                "created": r["created"],
                "retries": r["retries"],
                "maxRetries": r["max_retries"],
                "nextAt": r["next_at"] if r["state"] == "pending" else None,
                "body": json.loads(r["body"]),
                "headers": json.loads(r["headers"]) if r["headers"] else None,
                "attempts": attempts[r["id"]],
            }
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        with self.store.tx() as db:
            rows = db.execute("SELECT state, COUNT(*) AS n FROM pushes GROUP BY state").fetchall()
            buffered = db.execute("SELECT COUNT(*) FROM cdr_buffer").fetchone()[0]
        return {**{r["state"]: r["n"] for r in rows}, "cdrBuffered": buffered}
