"""Recordings (spec §5.5, §11): deterministic WAV files, streamed, never stored.

A recording is a row (name, length, seed); its audio is computed on demand. The file is an 8 kHz
mono 16-bit PCM WAV whose data is a sequence of one-second blocks, each one of a few blocks
synthesised from the seed (a tone plus noise). Any byte range can be produced without producing what
comes before it, so downloads stream in chunks with HTTP Range support, memory stays flat for a
200 MB file, and the sha256 the control API reports is that of exactly the bytes served.

Lifetimes: the file is gone 7 days (scaled) after its CDR is pushed; the 301 ``Location`` address
lives 30 minutes (scaled).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import secrets
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from privatenumber.modes import RECORDING_DOWNLOAD_URL, Interface
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.exchange import DropConnection, Exchange, InterfaceHandler, Redirect
from simulator.faults import Faults
from simulator.modes.pool import Pool, fmt_time
from simulator.results import PlatformError
from simulator.store import Store
from simulator.validate import Fields

SAMPLE_RATE = 8000
BYTES_PER_SECOND = SAMPLE_RATE * 2  # mono, 16-bit
HEADER_SIZE = 44
BLOCK_VARIANTS = 8
CHUNK = 64 * 1024
RECORD_DOMAIN = "record.simulator.local"
RECORD_BUCKET = "sim-record-bucket"
FILE_PATH_RE = re.compile(r"^/_sim/files/([0-9a-f]{32})/([^/]+)$")
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def wav_header(seconds: int) -> bytes:
    data_size = seconds * BYTES_PER_SECOND
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, BYTES_PER_SECOND, 2, 16)
        + b"data"
        + struct.pack("<I", data_size)
    )


def wav_size(seconds: int) -> int:
    return HEADER_SIZE + seconds * BYTES_PER_SECOND


@lru_cache(maxsize=64)
def _blocks(seed: str) -> tuple[bytes, ...]:
    """The one-second blocks a recording is made of: tones of a few pitches with noise."""
    rng = random.Random(seed)
    blocks = []
    for _ in range(BLOCK_VARIANTS):
        pitch = rng.uniform(300, 1200)
        level = rng.uniform(3000, 9000)
        samples = [
            int(level * math.sin(2 * math.pi * pitch * n / SAMPLE_RATE) + rng.gauss(0, 600))
            for n in range(SAMPLE_RATE)
        ]
        blocks.append(
            struct.pack(f"<{SAMPLE_RATE}h", *(max(-32768, min(32767, s)) for s in samples))
        )
    return tuple(blocks)


def _block_index(seed_value: int, second: int) -> int:
    # A cheap integer hash: neighbouring seconds differ, and a misplaced byte changes the sha256.
    return ((second * 2654435761 + seed_value) >> 7) % BLOCK_VARIANTS


def stream(seed: str, seconds: int, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of the WAV file, in chunks of at most 64 KiB."""
    size = wav_size(seconds)
    end = size if end is None else min(end, size)
    header = wav_header(seconds)
    if start < HEADER_SIZE:
        yield header[start : min(end, HEADER_SIZE)]
        start = HEADER_SIZE
    blocks = _blocks(seed)
    seed_value = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16)
    position = start
    pending: list[bytes] = []
    pending_size = 0
    while position < end:
        offset = position - HEADER_SIZE
        second, within = divmod(offset, BYTES_PER_SECOND)
        take = min(BYTES_PER_SECOND - within, end - position)
        pending.append(blocks[_block_index(seed_value, second)][within : within + take])
        pending_size += take
        position += take
        if pending_size >= CHUNK:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)


def file_digest(seed: str, seconds: int) -> str:
    digest = hashlib.sha256()
    for chunk in stream(seed, seconds):
        digest.update(chunk)
    return digest.hexdigest()


class Recordings:
    """Recording rows, download addresses and file serving."""

    def __init__(self, pool: Pool, store: Store, faults: Faults) -> None:
        self.pool = pool
        self.store = store
        self.faults = faults
        self._digest_lock = threading.Lock()

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        """The interface every mode has: the download address of a recording."""
        return {RECORDING_DOWNLOAD_URL: self.download_url}

    def create(
        self, db: sqlite3.Connection, app: AppConfig, session_id: str, answered: float, seconds: int
    ) -> dict[str, Any]:
        """A recording for one call; returns the CDR fields that announce it."""
        # Named like Huawei's examples: the session id's part before "@" (no phone number in it).
        name = session_id.partition("@")[0] + unconfirmed.RECORDING_NAME_SUFFIX
        db.execute(
            "INSERT INTO recordings (object_name, app_key, domain, bucket, session_id, seconds, "
            "seed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                app.app_key,
                RECORD_DOMAIN,
                RECORD_BUCKET,
                session_id,
                seconds,
                secrets.token_hex(8),
                time.time(),
            ),
        )
        return {
            "recordFlag": 1,
            "recordStartTime": fmt_time(answered),
            "recordObjectName": name,
            "recordBucketName": RECORD_BUCKET,
            "recordDomain": RECORD_DOMAIN,
        }

    def cdrs_pushed(self, db: sqlite3.Connection, cdrs: list[dict[str, Any]]) -> None:
        """Start the 7-day life of the recordings announced by CDRs now being pushed."""
        names = [c["recordObjectName"] for c in cdrs if c.get("recordObjectName")]
        if names:
            expires = self.pool.expiry(unconfirmed.RECORDING_LIFETIME_SECONDS)
            db.executemany(
                "UPDATE recordings SET expires=? WHERE object_name=? AND expires IS NULL",
                [(expires, name) for name in names],
            )

    def sweep(self, db: sqlite3.Connection) -> None:
        now = time.time()
        db.execute("DELETE FROM recordings WHERE expires IS NOT NULL AND expires<=?", (now,))
        db.execute("DELETE FROM record_links WHERE expires<=?", (now,))

    def _live_row(self, db: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        self.sweep(db)
        return db.execute("SELECT * FROM recordings WHERE object_name=?", (name,)).fetchone()

    # --- §5.5: the download address ---------------------------------------------------------------

    def download_url(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        name = f.req_string("fileName", max_len=128)
        domain = f.req_string("recordDomain", max_len=128)
        with self.store.tx() as db:
            row = self._live_row(db, name or "")
            if row is None or row["app_key"] != app.app_key or row["domain"] != domain:
                raise PlatformError(unconfirmed.RECORD_MISSING_CODE, "The record does not exist.")
            token = secrets.token_hex(16)
            db.execute(
                "INSERT INTO record_links (token, object_name, expires) VALUES (?, ?, ?)",
                (
                    token,
                    row["object_name"],
                    self.pool.expiry(unconfirmed.RECORDING_LINK_LIFETIME_SECONDS),
                ),
            )
        raise Redirect(f"/_sim/files/{token}/{quote(row['object_name'])}")

    # --- the file itself --------------------------------------------------------------------------

    def serve(self, handler: Exchange, path: str) -> None:
        match = FILE_PATH_RE.match(path)
        with self.store.tx() as db:
            self.sweep(db)
            row = None
            if match:
                row = db.execute(
                    "SELECT r.* FROM record_links l "
                    "JOIN recordings r ON r.object_name=l.object_name WHERE l.token=?",
                    (match.group(1),),
                ).fetchone()
        if row is None:
            handler.send_json(
                404, {"resultcode": "1016001", "resultdesc": "The record does not exist."}
            )
            return
        latency, fired, fault = self.faults.roll("record.download", ("fail_rate", "drop_mid_rate"))
        if latency:
            time.sleep(latency / 1000)
        if fired == "fail_rate" and fault is not None:
            handler.send_json(
                fault.http_status, {"resultcode": "1010001", "resultdesc": "Internal system error."}
            )
            return
        size = wav_size(row["seconds"])
        start, end = 0, size
        status = 200
        requested = handler.headers.get("Range")
        if requested:
            parsed = RANGE_RE.match(requested.strip())
            if parsed and (parsed.group(1) or parsed.group(2)):
                if parsed.group(1):
                    start = int(parsed.group(1))
                    end = min(size, int(parsed.group(2)) + 1) if parsed.group(2) else size
                else:
                    start = max(0, size - int(parsed.group(2)))
                if start >= size or start >= end:
                    handler.send_empty(416, {"Content-Range": f"bytes */{size}"})
                    return
                status = 206
        handler.send_response(status)
        handler.send_header("Content-Type", "audio/wav")
        handler.send_header("Content-Length", str(end - start))
        handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        handler.end_headers()
        if handler.command == "HEAD":
            return
        cut = None
        if fired == "drop_mid_rate":
            cut = start + int((end - start) * random.uniform(0.1, 0.9))
        sent = start
        for chunk in stream(row["seed"], row["seconds"], start, end):
            if cut is not None and sent + len(chunk) > cut:
                handler.wfile.write(chunk[: cut - sent])
                handler.wfile.flush()
                raise DropConnection
            handler.wfile.write(chunk)
            sent += len(chunk)

    # --- for the control API ----------------------------------------------------------------------

    def info(self, name: str, *, digest: bool = True) -> dict[str, Any] | None:
        with self.store.tx() as db:
            row = self._live_row(db, name)
        if row is None:
            return None
        sha = row["sha256"]
        if digest and sha is None:
            with self._digest_lock:  # one big hash at a time; each is cached
                sha = file_digest(row["seed"], row["seconds"])
            with self.store.tx() as db:
                db.execute("UPDATE recordings SET sha256=? WHERE object_name=?", (sha, name))
        return {
            "recordObjectName": row["object_name"],
            "appKey": row["app_key"],
            "recordDomain": row["domain"],
            "recordBucketName": row["bucket"],
            "sessionId": row["session_id"],
            "seconds": row["seconds"],
            "size": wav_size(row["seconds"]),
            "sha256": sha,
            "created": row["created"],
            "expires": row["expires"],
        }

    def list(self, app_key: str | None = None) -> list[dict[str, Any]]:
        with self.store.tx() as db:
            self.sweep(db)
            rows = db.execute(
                "SELECT object_name FROM recordings WHERE ?='' OR app_key=? ORDER BY created",
                (app_key or "", app_key or ""),
            ).fetchall()
        return [i for r in rows if (i := self.info(r["object_name"], digest=False))]
