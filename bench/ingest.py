"""CDR intake through the real receiver, beside a raw COPY of the same rows, in the same run.

``python -m bench ingest [--pushes 600] [--rounds 10] [--workers 3] [--clients 6]``

1. Creates a database of its own (``bench_ingest_<pid>_<random>``; ``BENCH_INGEST_DB`` names one)
   on the PostgreSQL of ``BENCH_POSTGRES_URL`` (default
   ``postgres://postgres@127.0.0.1:5432/postgres``), migrates it, and claims a Redis database no
   other run holds (``bench._cost.claim_redis_db``; ``BENCH_REDIS_URL`` names one instead).
2. Starts gunicorn (sync workers) serving the console on a free loopback port, with the settings
   of production (DEBUG off, Redis cache for the nonce check), and warms it up.
3. Alternates ``--rounds`` times, so that both sides see the same machine: a round of pushes of
   50 CDRs (distinct icids, each signed afresh with AKSK before the clock starts) from
   ``--clients`` concurrent connections; then the **anchor**: the same rows, prepared as COPY
   text beforehand, COPYed push by push (one transaction each, as the receiver commits each push)
   into a table like ``billing_callrecord`` (its indexes and deferred foreign keys), TRUNCATEd
   before the first round.
4. Checks: every answer 200; the receiver stored every CDR once; an md5 over every CDR column of
   the receiver's table equals the anchor table's.
5. Reports **CPU per push** of the benchmark's own processes (``bench/_cost.py``, from
   ``/proc``): for the intake, the gunicorn workers and the PostgreSQL backends of its database;
   for the anchor, the copying thread and its backend. The machine is shared, so the CPU ratio is
   the figure; wall-clock rates are reported too.
6. In-process, splits the cost of one push: auth, parse, the SQL insert.

Prints and writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench import _cost

logger = logging.getLogger("bench.ingest")

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# Unique per run (two runs at once must not share a database); BENCH_INGEST_DB names one.
DB_NAME = os.environ.get("BENCH_INGEST_DB") or _cost.run_name("bench_ingest")
# A Redis database of this run's own (claimed in run()), or the one BENCH_REDIS_URL names.
REDIS_URL: str | None = os.environ.get("BENCH_REDIS_URL")
ANCHOR_TABLE = "bench_copy_anchor"
APP_KEY = "benchIngestKey"
APP_SECRET = "bench-ingest-secret-value"  # noqa: S105 - a throw-away benchmark application
PER_PUSH = 50


def database_url() -> str:
    return urlparse(ADMIN_URL)._replace(path=f"/{DB_NAME}").geturl()


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    """:func:`bench_env`'s Redis database for the block: ``BENCH_REDIS_URL``'s, or one claimed
    for the run and given back at the end (``bench._cost.OwnRedis``)."""
    global REDIS_URL
    given = REDIS_URL
    with _cost.OwnRedis(given) as url:
        REDIS_URL = url
        try:
            yield url
        finally:
            REDIS_URL = given


def bench_env() -> dict[str, str]:
    if REDIS_URL is None:  # a fixed default would let two runs at once flush each other's
        raise RuntimeError("claim the run's Redis database first (bench._cost.OwnRedis)")
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEY": "3q2-7wDZ9cN0c1XH0GQyT8bSHrYl5J2vKQ8tZp0uW6A=",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "PYTHONPATH": str(REPO),
    }


def admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(
    name: str | None = None, environment: dict[str, str] | None = None, *, reuse: bool = False
) -> None:
    """Drop and create the database ``name`` (default: ``DB_NAME`` as it is now; unless
    ``reuse``) and migrate it."""
    name = name or DB_NAME
    if not reuse:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=REPO,
        env=environment or bench_env(),
        check=True,
    )


def bench_applications(key_prefix: str) -> list[int]:
    """The four AXB applications the list benchmarks spread their rows over (made once)."""
    from console.models import Application

    ids = []
    for index, name in enumerate(["Ride hailing", "Delivery", "Housekeeping", "Clinic"]):
        application = Application.objects.filter(app_key=f"{key_prefix}{index}").first()
        if application is None:
            application = Application(
                name=name, mode="AXB", app_key=f"{key_prefix}{index}", base_url="https://127.0.0.1"
            )
            application.set_secret("bench-secret")
            application.save()
        ids.append(application.pk)
    return ids


def setup_django(environment: dict[str, str] | None = None) -> None:
    os.environ.update(environment or bench_env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "shell.settings"
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    workers: int,
    port: int,
    app: str,
    worker_class: str = "sync",
    threads: int = 1,
    *,
    production: bool = False,
) -> subprocess.Popen:
    """gunicorn serving ``app``; ``production``: with the Procfile's configuration instead
    (``shell.gunicorn_config``: the guarded thread worker, keep-alive, the masking access log,
    written as the Procfile writes it, here to /dev/null)."""
    command = [str(Path(sys.executable).parent / "gunicorn"), app, "--workers", str(workers)]
    if production:
        command += ["-c", "python:shell.gunicorn_config", "--threads", str(threads)]
        command += ["--access-logfile", "-"]
    else:
        command += ["--worker-class", worker_class, "--threads", str(threads)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "256"]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=bench_env(),
        stdout=subprocess.DEVNULL if production else None,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def cdr(index: int, start: datetime) -> dict[str, Any]:
    begin = start + timedelta(seconds=index % 86400)
    answer = begin + timedelta(seconds=6)
    end = answer + timedelta(seconds=30 + index % 300)
    fmt = "%Y-%m-%d %H:%M:%S"
    return {
        "direction": index % 2,
        "spId": "bench_sp",
        "appKey": APP_KEY,
        "icid": f"{index:032x}.3757285803.338666679.5",
        "bindNum": f"+86170{index % 2000:08d}",
        "sessionId": f"1200_366_0_{index:014d}@callenabler246.huaweicaas.com",
        "subscriptionId": f"sub-{index % 5000:06d}",
        "callerNum": f"+86138{index % 400000:08d}",
        "calleeNum": f"+86170{index % 2000:08d}",
        "fwdDisplayNum": f"+86170{index % 2000:08d}",
        "fwdDstNum": f"+86139{(index * 7) % 400000:08d}",
        "callInTime": begin.strftime(fmt),
        "fwdStartTime": (begin + timedelta(seconds=1)).strftime(fmt),
        "fwdAlertingTime": (begin + timedelta(seconds=2)).strftime(fmt),
        "fwdAnswerTime": answer.strftime(fmt),
        "callEndTime": end.strftime(fmt),
        "fwdUnaswRsn": 0,
        "failTime": "",
        "ulFailReason": 0,
        "sipStatusCode": 0,
        "callOutUnaswRsn": 0,
        "recordFlag": 0,
        "recordStartTime": "",
        "recordObjectName": "",
        "recordBucketName": "",
        "recordDomain": "",
        "ttsPlayTimes": 0,
        "ttsTransDuration": 0,
        "mptyId": "",
        "serviceType": "004",
        "hostName": "callenabler246.huaweicaas.com",
    }


def build_bodies(pushes: int, offset: int = 0) -> list[bytes]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    return [
        json.dumps(
            {
                "eventType": "fee",
                "feeLst": [cdr(offset + p * PER_PUSH + i, start) for i in range(PER_PUSH)],
            }
        ).encode()
        for p in range(pushes)
    ]


def request_bytes(body: bytes, port: int) -> bytes:
    """One signed request (a fresh nonce and Created each time), ready to be written."""
    from privatenumber.auth import build_headers

    headers = build_headers(APP_KEY, APP_SECRET, "AKSK")
    lines = [
        "POST /hooks/fee HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json;charset=UTF-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


class Client:
    """One HTTP/1.1 connection, kept open while the server keeps it open.

    gunicorn's sync workers answer ``Connection: close``, its gthread workers keep the connection
    alive: either way the next request goes on a working connection, opened only when needed.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer = b""

    def send(self, payload: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(payload)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while b"0\r\n\r\n" not in self.buffer:  # the answers are a chunk or none
                self._receive()
            self.buffer = self.buffer.split(b"0\r\n\r\n", 1)[1]
        else:
            length = int(fields.get("content-length", "0"))
            while len(self.buffer) < length:
                self._receive()
            self.buffer = self.buffer[length:]
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the answer was complete")
        self.buffer += chunk


def signed(bodies: list[bytes], port: int) -> list[bytes]:
    """Every request signed before the clock starts, each with its own nonce (the replay check
    refuses a nonce twice); ``Created`` stays well inside the 300-s window of the run, so the clock
    measures the server and the client's sockets, not HMACs and string building."""
    return [request_bytes(body, port) for body in bodies]


def blast(port: int, payloads: list[bytes], clients: int) -> tuple[float, list[int], list[float]]:
    """Send every request from ``clients`` threads; returns elapsed seconds, statuses, latencies."""
    queue = list(reversed(payloads))
    lock = threading.Lock()
    statuses: list[int] = []
    latencies: list[float] = []

    def client() -> None:
        connection = Client(port)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    payload = queue.pop()
                began = time.perf_counter()
                try:
                    status = connection.send(payload)
                except OSError:
                    logger.exception("request failed")
                    connection.close()
                    status = 0  # counted among the non-200 answers
                took = time.perf_counter() - began
                with lock:
                    statuses.append(status)
                    latencies.append(took)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, statuses, latencies


def anchor_table(cursor) -> None:
    """The anchor's table: ``billing_callrecord``'s columns, indexes, defaults and foreign keys
    (deferred, as Django makes them), empty (TRUNCATEd, not emptied by a DELETE that leaves dead
    rows behind)."""
    cursor.execute(f"DROP TABLE IF EXISTS {ANCHOR_TABLE}")
    cursor.execute(f"CREATE TABLE {ANCHOR_TABLE} (LIKE billing_callrecord INCLUDING ALL)")
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'billing_callrecord'::regclass AND contype = 'f'"
    )
    for name, definition in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {ANCHOR_TABLE} ADD CONSTRAINT anchor_{name} {definition}")
    cursor.execute(f"TRUNCATE {ANCHOR_TABLE}")


def copy_texts(bodies: list[bytes], application_id: int, delivery_id: int) -> list[bytes]:
    """Each push's rows as COPY text (one bytes per push), prepared before any clock starts; the
    rows are the receiver's own (``billing.services._row``), so both sides store the same."""
    from billing import services
    from privatenumber.schemas import FeePush

    now = datetime.now(UTC)

    def text(value) -> str:
        if value is None:
            return r"\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    texts = []
    for body in bodies:
        push = FeePush.model_validate_json(body)
        lines = []
        for fee in push.fee_lst:
            row = services._row(fee, None, True, now)
            values = [delivery_id, application_id, now, *row]
            lines.append("\t".join(text(v) for v in values) + "\n")
        texts.append("".join(lines).encode())
    return texts


def copy_pushes(raw, texts: list[bytes]) -> float:
    """COPY each push's rows in a transaction of its own, as the receiver commits each push;
    returns this thread's CPU seconds (the server side is the anchor backend's)."""
    from billing import services

    columns = ["delivery_id", "application_id", "received_at"]
    columns += [c for c, _ in services._CDR_COLUMNS]
    statement = f"COPY {ANCHOR_TABLE} ({', '.join(columns)}) FROM STDIN"
    began = time.thread_time()
    for data in texts:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(data)
        raw.commit()
    return time.thread_time() - began


def stored_digest(table: str) -> tuple[int, str]:
    """Rows and an md5 over every CDR column of ``table``, in ``cdr_key`` order."""
    from django.db import connection

    from billing import services

    columns = ", ".join(c for c, _ in services._CDR_COLUMNS if c != "binding_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.cdr_key), '')) "  # noqa: S608
            f"FROM (SELECT {columns} FROM {table}) t"
        )
        count, digest = cursor.fetchone()
    return count, digest


def breakdown(bodies: list[bytes]) -> dict[str, float]:
    """Median microseconds of each step of one push, in this process."""
    from django.db import connection, transaction

    from billing import services
    from console import inbox
    from console.models import Application
    from privatenumber import auth

    application = Application.objects.get(app_key=APP_KEY)
    sample = bodies[:60]
    timings: dict[str, list[float]] = {"verify": [], "parse": [], "insert": []}
    for body in sample:
        headers = auth.build_headers(APP_KEY, APP_SECRET, "AKSK")
        began = time.perf_counter()
        token = auth.parse_headers(headers)
        auth.verify_token(token, application.get_secret())
        timings["verify"].append(time.perf_counter() - began)
        began = time.perf_counter()
        push = inbox.parse(application, body).push
        timings["parse"].append(time.perf_counter() - began)
        with transaction.atomic():
            began = time.perf_counter()
            services.ingest_cdrs(application, push.fee_lst)
            timings["insert"].append(time.perf_counter() - began)
            transaction.set_rollback(True)
    connection.close()
    return {f"{k}_us": round(statistics.median(v) * 1e6) for k, v in timings.items()}


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--pushes", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=10, help="HTTP/COPY alternations")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="gunicorn worker class (gthread keeps client connections alive)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--production",
        action="store_true",
        help="serve with the Procfile's gunicorn configuration (shell.gunicorn_config: guarded "
        "thread worker, keep-alive, access log); --threads sets its threads",
    )
    parser.add_argument(
        "--app",
        default="shell.hooks_wsgi:application",
        help="WSGI application gunicorn serves (shell.wsgi:application: full middleware)",
    )
    options = parser.parse_args(args)
    if options.pushes % options.rounds:
        parser.error("--pushes must be a multiple of --rounds")

    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        with own_redis() as redis_url:
            return {
                "command": "python -m bench ingest " + " ".join(args),
                "machine": f"{os.cpu_count()} cores",
                "database": DB_NAME,
                "redis": redis_url,
                "load_average_before": load_before,
                **measure(options),
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            }
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def measure(options: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then alternate: a round of pushes over HTTP, the COPY of the same rows."""
    import psycopg

    create_database()
    setup_django()
    from django.db import connection

    from console.models import Application, Delivery

    application = Application(
        name="bench", mode="AXB", app_key=APP_KEY, base_url="https://127.0.0.1"
    )
    application.set_secret(APP_SECRET)
    application.save()

    warmup = build_bodies(options.warmup, offset=10**9)
    bodies = build_bodies(options.pushes)
    per_round = options.pushes // options.rounds
    port = free_port()
    server = start_gunicorn(
        options.workers,
        port,
        options.app,
        options.worker_class,
        options.threads,
        production=options.production,
    )
    anchor = psycopg.connect(database_url().replace("postgres://", "postgresql://"))
    try:
        blast(port, signed(warmup, port), options.clients)
        delivery_id = Delivery.objects.order_by("id").values_list("id", flat=True).first()
        texts = copy_texts(bodies, application.pk, delivery_id)
        with anchor.cursor() as cursor:
            anchor_table(cursor)
            # The warm-up's CDRs go; its deliveries stay (the anchor's rows refer to one).
            cursor.execute("TRUNCATE billing_callrecord CASCADE")
        anchor.commit()
        copy_pushes(anchor, copy_texts(warmup[:5], application.pk, delivery_id))  # warm too
        with anchor.cursor() as cursor:
            cursor.execute(f"TRUNCATE {ANCHOR_TABLE}")
        anchor.commit()
        anchor_pid = _cost.backend_pid(anchor)
        connection.close()

        http = {"seconds": 0.0, "cpu": dict.fromkeys(["web", "postgres", "client"], 0.0)}
        copy = {"seconds": 0.0, "cpu": dict.fromkeys(["client", "postgres"], 0.0)}
        statuses: list[int] = []
        latencies: list[float] = []
        meter = _cost.Meter(
            database=DB_NAME,
            exclude_backends=[anchor_pid],
            groups={"anchor_backend": lambda procs: [anchor_pid]},
        )
        with meter:
            for index in range(options.rounds):
                chunk = slice(index * per_round, (index + 1) * per_round)
                payloads = signed(bodies[chunk], port)
                before = meter.read()
                elapsed, round_statuses, round_latencies = blast(port, payloads, options.clients)
                used = _cost.difference(meter.read(), before)
                http["seconds"] += elapsed
                http["cpu"]["web"] += used["children"]
                http["cpu"]["postgres"] += used["postgres"]
                http["cpu"]["client"] += used["bench"]
                statuses += round_statuses
                latencies += round_latencies

                before = meter.read()
                began = time.perf_counter()
                client_cpu = copy_pushes(anchor, texts[chunk])
                copy["seconds"] += time.perf_counter() - began
                used = _cost.difference(meter.read(), before)
                copy["cpu"]["client"] += client_cpu
                copy["cpu"]["postgres"] += used["anchor_backend"]
            backends_seen = meter.seen("postgres")
    finally:
        anchor.close()
        server.terminate()
        server.wait(timeout=30)

    cdrs = options.pushes * PER_PUSH
    stored, stored_digest_value = stored_digest("billing_callrecord")
    copied, copied_digest = stored_digest(ANCHOR_TABLE)
    from billing.models import CallRecord

    distinct = CallRecord.objects.values("cdr_key").distinct().count()
    bad = [s for s in statuses if s != 200]
    steps = breakdown(bodies)
    connection.close()
    correct = not bad and stored == copied == distinct == cdrs
    correct = correct and stored_digest_value == copied_digest

    latencies.sort()
    intake_ms = {k: round(v / options.pushes * 1000, 3) for k, v in http["cpu"].items()}
    anchor_ms = {k: round(v / options.pushes * 1000, 3) for k, v in copy["cpu"].items()}
    intake_total = intake_ms["web"] + intake_ms["postgres"]
    anchor_total = anchor_ms["client"] + anchor_ms["postgres"]
    return {
        "pushes": options.pushes,
        "rounds": options.rounds,
        "cdrs_per_push": PER_PUSH,
        "wsgi_application": options.app,
        "gunicorn_workers": options.workers,
        "gunicorn_worker_class": "shell.gunicorn_config (Procfile)"
        if options.production
        else options.worker_class,
        "gunicorn_threads": options.threads,
        "clients": options.clients,
        "correct": correct,
        "non_200_answers": len(bad),
        "cdrs_sent": cdrs,
        "cdrs_stored": stored,
        "cdrs_distinct": distinct,
        "cdrs_copied_by_the_anchor": copied,
        "stored_equals_copied_digest": stored_digest_value == copied_digest,
        # The goal: CPU of the web process and its PostgreSQL backends per push of 50.
        "cpu_ms_per_push": intake_ms,
        "cpu_ms_per_push_web_and_postgres": round(intake_total, 3),
        "anchor_cpu_ms_per_push": anchor_ms,
        "anchor_cpu_ms_per_push_total": round(anchor_total, 3),
        "cpu_ratio_intake_to_copy": round(intake_total / anchor_total, 2),
        "postgres_backends_seen": backends_seen,
        "cpu_shared_processes_not_counted": "PostgreSQL checkpointer/WAL writer, Redis",
        "http_seconds": round(http["seconds"], 3),
        "http_cdrs_per_second": round(cdrs / http["seconds"]),
        "push_latency_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1),
        "push_latency_ms_p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
        "copy_seconds": round(copy["seconds"], 3),
        "copy_cdrs_per_second": round(cdrs / copy["seconds"]),
        "wall_ratio_http_to_copy": round(copy["seconds"] / http["seconds"], 3),
        "in_process_step_medians": steps,
    }
