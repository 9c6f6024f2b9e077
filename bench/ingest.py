"""CDR intake through the real receiver, beside a raw COPY of the same rows.

``python -m bench ingest [--pushes 600] [--workers 3] [--clients 6]``

1. Creates the database ``bench_ingest`` (``BENCH_INGEST_DB`` overrides the name; dropped first,
   dropped again at the end) on the PostgreSQL of ``BENCH_POSTGRES_URL`` (default
   ``postgres://postgres@127.0.0.1:5432/postgres``) and migrates it.
2. Starts gunicorn (sync workers) serving the console on a free loopback port, with the settings
   of production (DEBUG off, Redis cache for the nonce check).
3. Sends ``--pushes`` CDR pushes of 50 CDRs each (distinct icids), each signed afresh with AKSK
   (all signed before the clock starts), from ``--clients`` concurrent connections (kept alive
   when the server allows), and times them from the first byte to the last answer; every answer
   must be 200 and the table must then hold every CDR once.
4. Empties the table and COPYs the same rows (prepared beforehand, same indexes) into it, timed.
5. In-process, splits the cost of one push: auth, parse, the SQL insert.
6. Counts the CPU the pushes cost (gunicorn workers, the database's backends, the client) from
   ``/proc``: on a shared machine, CPU per push is what compares between runs.

Prints and writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

logger = logging.getLogger("bench.ingest")

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_INGEST_DB", "bench_ingest")  # distinct names let runs coexist
APP_KEY = "benchIngestKey"
APP_SECRET = "bench-ingest-secret-value"  # noqa: S105 - a throw-away benchmark application
PER_PUSH = 50


def database_url() -> str:
    return urlparse(ADMIN_URL)._replace(path=f"/{DB_NAME}").geturl()


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEY": "3q2-7wDZ9cN0c1XH0GQyT8bSHrYl5J2vKQ8tZp0uW6A=",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        "CACHE_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
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
    name: str = DB_NAME, environment: dict[str, str] | None = None, *, reuse: bool = False
) -> None:
    """Drop and create the database ``name`` (unless ``reuse``) and migrate it."""
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
    workers: int, port: int, app: str, worker_class: str = "sync", threads: int = 1
) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            app,
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=REPO,
        env=bench_env(),
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


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by gunicorn's workers, by the PostgreSQL backends
    serving the bench database, by PostgreSQL's shared processes and by this process.

    Read from ``/proc`` (Linux). The machine is shared, so the rate alone says little about the
    code: CPU per push, next to the load average, is what other runs can be compared with.
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"gunicorn_workers": 0.0, "postgres_backends": 0.0, "postgres_shared": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                stat = file.read()
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[1]) == server_pid:
            totals["gunicorn_workers"] += used
        elif command.startswith("postgres:") and f" {DB_NAME} " in command:
            totals["postgres_backends"] += used
        elif command.startswith("postgres:") and "(" not in command and "[local]" not in command:
            totals["postgres_shared"] += used  # checkpointer, WAL writer, background writer
    own = os.times()
    totals["bench_client"] = own.user + own.system
    return totals


def copy_rows(bodies: list[bytes]) -> tuple[float, int]:
    """COPY the rows the receiver stored, prepared as COPY text beforehand, into the same table."""
    from django.db import connection

    from billing import services
    from billing.models import CallRecord
    from console.models import Application, Delivery
    from privatenumber.schemas import FeePush

    application = Application.objects.get(app_key=APP_KEY)
    now = datetime.now(UTC)
    columns = ["application_id", "delivery_id", "received_at"] + [
        c for c, _ in services._CDR_COLUMNS
    ]
    delivery_ids = list(Delivery.objects.order_by("id").values_list("id", flat=True))
    buffer = io.StringIO()

    def text(value) -> str:
        if value is None:
            return r"\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    rows = 0
    for index, body in enumerate(bodies):
        push = FeePush.model_validate_json(body)
        for fee in push.fee_lst:
            row = services._row(fee, None, True, now)
            values = [application.pk, delivery_ids[index % len(delivery_ids)], now, *row]
            buffer.write("\t".join(text(v) for v in values) + "\n")
            rows += 1
    data = buffer.getvalue().encode()
    CallRecord.objects.all().delete()
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        began = time.perf_counter()
        with cursor.copy(f"COPY billing_callrecord ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(data)
        raw.commit()
        took = time.perf_counter() - began
    assert CallRecord.objects.count() == rows
    return took, rows


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
        "--app",
        default="shell.hooks_wsgi:application",
        help="WSGI application gunicorn serves (shell.wsgi:application: full middleware)",
    )
    options = parser.parse_args(args)

    load_before = [round(x, 2) for x in os.getloadavg()]
    create_database()
    setup_django()
    from django.db import connection

    from billing.models import CallRecord
    from console.models import Application, Delivery

    application = Application(
        name="bench", mode="AXB", app_key=APP_KEY, base_url="https://127.0.0.1"
    )
    application.set_secret(APP_SECRET)
    application.save()
    connection.close()

    warmup = build_bodies(options.warmup, offset=10**9)
    bodies = build_bodies(options.pushes)
    port = free_port()
    server = start_gunicorn(
        options.workers, port, options.app, options.worker_class, options.threads
    )
    try:
        blast(port, signed(warmup, port), options.clients)
        CallRecord.objects.all().delete()
        Delivery.objects.all().delete()
        connection.close()
        payloads = signed(bodies, port)
        cpu_before = cpu_seconds(server.pid)
        elapsed, statuses, latencies = blast(port, payloads, options.clients)
        cpu_after = cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = CallRecord.objects.count()
    distinct = CallRecord.objects.values("cdr_key").distinct().count()
    cdrs = options.pushes * PER_PUSH
    bad = [s for s in statuses if s != 200]
    copy_seconds, copied = copy_rows(bodies)
    steps = breakdown(bodies)
    connection.close()
    admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

    latencies.sort()
    cpu_per_push = {
        name: round((cpu_after[name] - cpu_before[name]) / options.pushes * 1000, 2)
        for name in cpu_after
    }
    http_rate = cdrs / elapsed
    copy_rate = copied / copy_seconds
    return {
        "command": "python -m bench ingest " + " ".join(args),
        "machine": f"{os.cpu_count()} cores",
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "pushes": options.pushes,
        "cdrs_per_push": PER_PUSH,
        "wsgi_application": options.app,
        "gunicorn_workers": options.workers,
        "gunicorn_worker_class": options.worker_class,
        "gunicorn_threads": options.threads,
        "clients": options.clients,
        "non_200_answers": len(bad),
        "cdrs_sent": cdrs,
        "cdrs_stored": stored,
        "cdrs_distinct": distinct,
        "http_seconds": round(elapsed, 3),
        "http_cdrs_per_second": round(http_rate),
        "http_pushes_per_second": round(options.pushes / elapsed, 1),
        "push_latency_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1),
        "push_latency_ms_p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
        "copy_seconds": round(copy_seconds, 3),
        "copy_rows_per_second": round(copy_rate),
        "http_to_copy_ratio": round(http_rate / copy_rate, 3),
        "in_process_step_medians": steps,
        "cpu_ms_per_push": cpu_per_push,
        "cpu_ms_per_push_total": round(sum(cpu_per_push.values()), 2),
        # what the same CPU per push would give with both cores free of other work
        "cdrs_per_second_if_alone": round(
            os.cpu_count() * 1000 / sum(cpu_per_push.values()) * PER_PUSH
        ),
    }
