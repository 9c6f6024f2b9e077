"""Recordings pulled from the simulator by 4 Celery worker processes: MB/s, recordings per minute,
and the peak resident memory of each worker process.

``python -m bench recordings_pull [--count 1000] [--workers 4] [--min-seconds 60]
[--max-seconds 600] [--big-seconds 13108]``

What it does, end to end and over real HTTP:

1. starts the simulator (``python -m simulator``) with one recording AXB application, and a small
   HTTP sink on 127.0.0.1 as the application's CDR URL;
2. places ``count - 1`` answered, recorded calls of ``min``–``max`` seconds (uniformly random)
   plus one call of ``big-seconds`` (13,108 s: a 200 MB WAV file), and collects their CDR pushes;
3. starts ``celery -A shell worker --pool prefork --concurrency 4`` on a queue of its own;
4. starts the clock, ingests the CDRs through ``billing.services.ingest_cdrs`` (50 per push, as
   the receiver does; the recordings receiver queues one fetch task per recording), and stops it
   when every recording is ``stored``;
5. reads the peak RSS (``VmHWM`` in ``/proc/<pid>/status``) of every worker process, checks every
   stored file's sha256 against the simulator's (``/_sim/recordings/<name>``) and that storage holds
   exactly one file per recording.

Database: ``BENCH_DATABASE_URL`` (created and migrated if missing; never the ``DATABASE_URL`` of a
``.env``), by default one of the run's own (``bench_recordings_<pid>_<random>``, dropped at the
end). Broker: ``BENCH_REDIS_URL``, by default a Redis database claimed for the run
(``bench._cost.claim_redis_db``), and a queue of the run's own. Stored files and the spool go to
a temporary directory, removed afterwards (about 5.5 GB for the default run).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench import _cost
from bindings import benchmarking

logger = logging.getLogger("bench.recordings_pull")

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_KEY = "benchRecordingsKey".ljust(32, "0")
APP_SECRET = "benchRecordingsSecret".ljust(32, "0")
QUEUE = _cost.run_name("bench_recordings")  # the run's own: two runs never share a queue
BINDINGS = 40


def _arguments(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench recordings_pull")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--min-seconds", type=int, default=60)
    parser.add_argument("--max-seconds", type=int, default=600)
    parser.add_argument("--big-seconds", type=int, default=13108, help="0: no big file")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--timeout", type=float, default=1800)
    return parser.parse_args(args)


def _environment(media: Path, redis: str) -> str | None:
    """Settings of the bench run, set before Django starts (the worker inherits them); returns
    the database made for this run (to drop at the end), None when ``BENCH_DATABASE_URL`` named
    one."""
    own = None
    database = os.environ.get("BENCH_DATABASE_URL")
    if database is None:
        own = database = f"postgres://postgres@127.0.0.1:5432/{_cost.run_name('bench_recordings')}"
    os.environ.update(
        {
            "ENV_FILE": "",
            "DEBUG": "true",
            "HTTPS": "false",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "CELERY_BROKER_URL": redis,
            "CACHE_URL": "locmemcache://",
            "CELERY_QUEUE": QUEUE,
            "MEDIA_ROOT": str(media / "media"),
            "RECORDINGS_SPOOL_DIR": str(media / "spool"),
            "DJANGO_SETTINGS_MODULE": "shell.settings",
        }
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "3q2-7wDZ9cN0c1XH0GQyT8bSHrYl5J2vKQ8tZp0uW6A=")
    _create_database(database)
    return own


def _create_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.replace(parsed.path, "/postgres", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


class _Sink(BaseHTTPRequestHandler):
    """The application's CDR URL: keeps every pushed CDR, answers 200."""

    cdrs: list[dict[str, Any]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            type(self).cdrs.extend(body.get("feeLst", []))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _peak_rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def _rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def run(args: list[str]) -> dict[str, Any]:
    options = _arguments(args)
    work = Path(tempfile.mkdtemp(prefix="bench-recordings-"))
    with _cost.OwnRedis(os.environ.get("BENCH_REDIS_URL")) as redis:
        own = _environment(work, redis)
        import django

        django.setup()
        try:
            return _run(options, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if own is not None:
                from django.db import connections

                connections.close_all()
                benchmarking.drop_database(own)


def _run(options: argparse.Namespace, work: Path) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import transaction

    from billing import services as billing_services
    from billing.models import CallRecord
    from console.models import Application, PlatformCall
    from privatenumber.client import PrivateNumberClient
    from privatenumber.schemas import FeeInfo
    from recordings import storage
    from recordings.choices import RecordingState
    from recordings.models import Recording
    from shell.celery import app as celery_app
    from simulator.testing import run_simulator

    call_command("migrate", verbosity=0)
    Recording.objects.all().delete()
    PlatformCall.objects.filter(application__app_key=APP_KEY).delete()
    CallRecord.objects.filter(application__app_key=APP_KEY).delete()

    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    numbers = [{"number": f"+86170077{i:05d}", "city": "0755"} for i in range(1, BINDINGS + 1)]
    config = {
        "apps": [
            {
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "mode": "AXB",
                "record": True,
                "fee_url": f"http://127.0.0.1:{sink.server_address[1]}/fee",
                "numbers": numbers,
            }
        ]
    }
    rng = random.Random(options.seed)
    with run_simulator(config, extra_args=["--log-level", "WARNING"]) as sim:
        application, _ = Application.objects.update_or_create(
            app_key=APP_KEY,
            defaults={"name": "Bench recordings", "mode": "AXB", "base_url": sim.base_url},
        )
        application.set_secret(APP_SECRET)
        application.save()

        # Recorded bindings, then the calls; their CDRs arrive at the sink.
        with PrivateNumberClient(sim.base_url, APP_KEY, APP_SECRET) as client:
            for index, number in enumerate(numbers):
                client.axb_bind(
                    relation_num=number["number"],
                    caller_num=f"+86138{index:08d}",
                    callee_num=f"+86139{index:08d}",
                    record_flag="true",
                )
        small = options.count - (1 if options.big_seconds else 0)
        placed = 0
        while placed < small:
            batch = min(200, small - placed)
            for _ in range(batch):
                seconds = rng.randint(options.min_seconds, options.max_seconds)
                sim.control.bulk_calls(APP_KEY, 1, duration=seconds, events=False)
            placed += batch
        if options.big_seconds:
            sim.control.place_call(
                "+8613800000000", numbers[0]["number"], "answered", duration=options.big_seconds
            )
        deadline = time.monotonic() + 120
        while len(_Sink.cdrs) < options.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(_Sink.cdrs)} CDRs pushed of {options.count}")
            time.sleep(0.2)
        cdrs = list(_Sink.cdrs)
        logger.info("%d CDRs collected; starting %d workers", len(cdrs), options.workers)

        celery_app.control.purge()
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "shell",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(options.workers),
                "-Q",
                QUEUE,
                "--prefetch-multiplier",
                "1",
                "-O",
                "fair",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
            ],
            cwd=REPO_ROOT,
            env=os.environ.copy(),
        )
        try:
            ready_by = time.monotonic() + 60
            while len(benchmarking.children(worker.pid)) < options.workers:
                if time.monotonic() > ready_by or worker.poll() is not None:
                    raise RuntimeError("the Celery worker did not start")
                time.sleep(0.2)
            time.sleep(2)  # let the pool connect to the broker
            idle = {pid: _rss_kib(pid) for pid in benchmarking.children(worker.pid)}

            started = time.monotonic()
            for offset in range(0, len(cdrs), 50):
                with transaction.atomic():
                    billing_services.ingest_cdrs(
                        application,
                        [FeeInfo.model_validate(cdr) for cdr in cdrs[offset : offset + 50]],
                    )
            ids = list(
                Recording.objects.filter(application=application).values_list("pk", flat=True)
            )
            give_up = started + options.timeout
            stored = 0
            while time.monotonic() < give_up:
                stored = Recording.objects.filter(pk__in=ids, state=RecordingState.STORED).count()
                if stored == len(ids):
                    break
                time.sleep(0.25)
            elapsed = time.monotonic() - started
            children = benchmarking.children(worker.pid)
            peaks = {pid: _peak_rss_kib(pid) for pid in children}
            main_peak = _peak_rss_kib(worker.pid)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()

        rows = list(Recording.objects.filter(pk__in=ids))
        total_bytes = sum(r.size or 0 for r in rows)
        mismatched = [
            r.pk for r in rows if r.sha256 != sim.control.recording_info(r.file_name)["sha256"]
        ]
        names = storage.stored_names()
        biggest = max((r.size or 0) for r in rows)
        attempts = sorted(r.attempts for r in rows)
    sink.shutdown()

    worker_peaks_mb = sorted(round(kib / 1024, 1) for kib in peaks.values() if kib)
    idle_mb = sorted(round(kib / 1024, 1) for kib in idle.values() if kib)
    growth_mb = sorted(
        round((peaks[pid] - idle[pid]) / 1024, 1)
        for pid in peaks
        if peaks.get(pid) and idle.get(pid)
    )
    return {
        "what": (
            f"{len(ids)} recordings ({options.min_seconds}-{options.max_seconds} s, plus one of "
            f"{options.big_seconds} s) pulled from the simulator over HTTP by "
            f"{options.workers} Celery worker processes (prefork pool), stored on the local "
            "file system"
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        },
        "recordings": len(ids),
        "stored": stored,
        "seconds": round(elapsed, 2),
        "megabytes": round(total_bytes / 1e6, 1),
        "mb_per_second": round(total_bytes / 1e6 / elapsed, 1),
        "recordings_per_minute": round(len(ids) / elapsed * 60, 1),
        "largest_file_mb": round(biggest / 1e6, 1),
        "worker_idle_rss_mb": idle_mb,
        "worker_peak_rss_mb": worker_peaks_mb,
        "worker_peak_minus_idle_mb": growth_mb,
        "worker_main_process_peak_rss_mb": round((main_peak or 0) / 1024, 1),
        "sha256_mismatches": len(mismatched),
        "files_in_storage": len(names),
        "attempts_max": attempts[-1] if attempts else 0,
        "recordings_needing_more_than_one_attempt": sum(1 for a in attempts if a > 1),
    }
