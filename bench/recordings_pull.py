"""Recordings pulled from the simulator by 4 Celery worker processes beside curl pulling the same
files in the same run (issue 19): MB/s, the ratio to curl, CPU per recording and per MB of the
run's own processes, and the peak resident memory of each worker process.

``python -m bench recordings_pull [--count 1000] [--workers 4] [--min-seconds 60]
[--max-seconds 600] [--big-seconds 13108] [--round 50]``

What it does, end to end and over real HTTP:

1. starts the simulator (``python -m simulator``) with one recording AXB application, and a small
   HTTP sink on 127.0.0.1 as the application's CDR URL;
2. places ``count - 1`` answered, recorded calls of ``min``–``max`` seconds (uniformly random)
   plus one call of ``big-seconds`` (13,108 s: a 200 MB WAV file), and collects their CDR pushes;
3. starts ``celery -A shell worker --pool prefork --concurrency 4`` on a queue of its own;
4. in rounds of ``--round`` recordings (the big one in the first): makes the round's files ready
   in the simulator (:func:`_warm`), then, the side going first alternating, lets **curl**
   (``--parallel --parallel-max <workers>``, the final file URLs) download them, and **the
   console** pull them: the CDRs ingested through ``billing.services.ingest_cdrs`` (the
   recordings receiver queues one fetch task per recording), until every one is ``stored``;
   each phase timed, with the CPU of the workers, the simulator, the run's PostgreSQL backends
   (``bench._cost``) and curl's own (``wait4``);
5. reads the peak RSS (``VmHWM`` in ``/proc/<pid>/status``) of every worker process, checks every
   stored file's sha256 against the simulator's (``/_sim/recordings/<name>``), curl's files too,
   and that storage holds exactly one file per recording.

Database: ``BENCH_DATABASE_URL`` (created and migrated if missing; never the ``DATABASE_URL`` of a
``.env``), by default one of the run's own (``bench_recordings_<pid>_<random>``, dropped at the
end). Broker: ``BENCH_REDIS_URL``, by default a Redis database claimed for the run
(``bench._cost.claim_redis_db``), and a queue of the run's own. Stored files and the spool go to
a temporary directory, removed afterwards (about 5.5 GB for the default run).
"""

from __future__ import annotations

import argparse
import hashlib
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
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from bench import _cost
from bindings import benchmarking

logger = logging.getLogger("bench.recordings_pull")

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_KEY = "benchRecordingsKey".ljust(32, "0")
APP_SECRET = "benchRecordingsSecret".ljust(32, "0")
QUEUE = _cost.run_name("bench_recordings")  # the run's own: two runs never share a queue
BINDINGS = 40
CURL = shutil.which("curl") or "curl"


def _arguments(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench recordings_pull")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--min-seconds", type=int, default=60)
    parser.add_argument("--max-seconds", type=int, default=600)
    parser.add_argument("--big-seconds", type=int, default=13108, help="0: no big file")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per round")
    parser.add_argument(
        "--round",
        type=int,
        default=50,
        help="recordings per round (one push); at most 60, the simulator's audio cache holds 64",
    )
    options = parser.parse_args(args)
    if not 1 <= options.round <= 60:
        # A round's files must all stay in the simulator's cache of 64 recordings' audio.
        parser.error("--round must be between 1 and 60")
    return options


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
            # As in production: with DEBUG Django keeps the SQL of every query a worker makes.
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-" + "x" * 40,
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
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


def _seconds(cdr: dict[str, Any]) -> int:
    """Talk time of a CDR (the length of its recording); used to put the big file first."""
    answered = cdr.get("fwdAnswerTime")
    if not answered:
        return 0
    parse = datetime.fromisoformat
    return int((parse(cdr["callEndTime"]) - parse(answered)).total_seconds())


def _warm(client, session: requests.Session, batch: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The round's files made ready in the simulator before either side downloads them.

    The simulator synthesises a recording's audio blocks (~0.1 s of its CPU) on the first request
    for its bytes and keeps the last 64 recordings' blocks: a ranged GET of each file of the round
    here means the console's workers and curl both find every file ready, whichever goes first.
    Returns (file name, final file URL) for curl: the Location of a 301 asked here, as the workers
    ask their own.
    """
    targets = []
    for cdr in batch:
        name = cdr["recordObjectName"]
        url = client.recording_download_url(name, cdr["recordDomain"])
        answer = session.get(url, headers={"Range": "bytes=0-4095"}, timeout=60)
        if answer.status_code != 206:
            raise RuntimeError(f"warming {name}: HTTP {answer.status_code}")
        targets.append((name, url))
    return targets


def _curl(targets: list[tuple[str, str]], directory: Path, parallel: int) -> float:
    """The anchor: the real ``curl`` binary downloading the round's files, ``parallel`` at a time
    (``--parallel --parallel-max``: one process, each transfer taking the next file as a slot
    frees, kept-alive connections reused), each written with ``-o`` into ``directory``.

    Returns curl's CPU seconds (user + system, from ``wait4``: exact, not sampled).
    """
    config = directory / "curl.config"
    config.write_text(
        "".join(f'url = "{url}"\noutput = "{directory / name}"\n' for name, url in targets)
    )
    process = subprocess.Popen(
        [
            CURL,
            "--parallel",
            "--parallel-max",
            str(parallel),
            "--parallel-immediate",
            "--silent",
            "--no-progress-meter",
            "--show-error",
            "--fail",
            "--config",
            str(config),
        ],
        stdout=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    config.unlink()
    if process.returncode != 0:
        raise RuntimeError(f"curl exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def _console(application, batch: list[dict[str, Any]], timeout: float) -> list[int]:
    """The console's side of a round: the round's CDRs ingested (pushes of 50, as the receiver
    does; each commit queues one fetch task per recording), then wait until all are stored."""
    from django.db import transaction

    from billing import services as billing_services
    from privatenumber.schemas import FeeInfo
    from recordings.choices import RecordingState
    from recordings.models import Recording

    for offset in range(0, len(batch), 50):
        with transaction.atomic():
            billing_services.ingest_cdrs(
                application, [FeeInfo.model_validate(cdr) for cdr in batch[offset : offset + 50]]
            )
    names = [cdr["recordObjectName"] for cdr in batch]
    ids = list(
        Recording.objects.filter(application=application, file_name__in=names).values_list(
            "pk", flat=True
        )
    )
    if len(ids) != len(batch):
        raise RuntimeError(f"{len(ids)} recordings made of {len(batch)} CDRs")
    mine = Recording.objects.filter(pk__in=ids, state=RecordingState.STORED)
    give_up = time.monotonic() + timeout
    # Polled often (a count on the run's connection, excluded from the workers' cost): the
    # round's end is known within ~10 ms.
    while mine.count() != len(ids):
        if time.monotonic() > give_up:
            raise RuntimeError("the round's recordings were not all stored in time")
        time.sleep(0.01)
    return ids


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


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
    from django.db import connection

    from billing.models import CallRecord
    from console.models import Application, PlatformCall
    from privatenumber.client import PrivateNumberClient
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
            load_at_start = [round(x, 1) for x in os.getloadavg()]

            meter = _cost.Meter(
                database=connection.settings_dict["NAME"],
                # The bench's own connection (ingest, polling) is reported apart, as "bench".
                exclude_backends=[_cost.backend_pid(connection)],
                groups={
                    "workers": lambda procs: procs.descendants([worker.pid]),
                    "simulator": lambda procs: procs.descendants([sim.process.pid]),
                },
            )
            curl_dir = work / "curl"
            curl_dir.mkdir()
            # The big file first (in round 0, on both sides): at the end of a round it would be
            # a long tail with three lanes idle, on both sides alike, but noisier.
            if options.big_seconds:
                cdrs.insert(0, cdrs.pop(cdrs.index(max(cdrs, key=_seconds))))
            rounds = [cdrs[i : i + options.round] for i in range(0, len(cdrs), options.round)]
            phases: list[dict[str, Any]] = []
            ids: list[int] = []
            curl_digests: dict[str, tuple[int, str]] = {}
            with (
                PrivateNumberClient(sim.base_url, APP_KEY, APP_SECRET) as client,
                requests.Session() as warmer,
                meter,
            ):
                warm_cpu = 0.0
                for number, batch in enumerate(rounds):
                    before = meter.read()
                    targets = _warm(client, warmer, batch)
                    warm_cpu += _cost.difference(meter.read(), before)["simulator"]
                    sides = ("curl", "console") if number % 2 == 0 else ("console", "curl")
                    for side in sides:
                        before = meter.read()
                        started = _cost.wall()
                        if side == "curl":
                            curl_seconds = _curl(targets, curl_dir, options.workers)
                        else:
                            ids.extend(_console(application, batch, options.timeout))
                        elapsed = _cost.wall() - started
                        cpu = _cost.difference(meter.read(), before)
                        if side == "curl":
                            cpu["curl"] = curl_seconds
                        phases.append(
                            {
                                "round": number,
                                "side": side,
                                "recordings": len(batch),
                                "seconds": elapsed,
                                "cpu": cpu,
                            }
                        )
                    # Outside the measured phases: curl's files checked (size, sha256), removed.
                    for name, _url in targets:
                        path = curl_dir / name
                        curl_digests[name] = (path.stat().st_size, _sha256(path))
                        path.unlink()
                    logger.info("round %d of %d done", number + 1, len(rounds))
            stored = Recording.objects.filter(pk__in=ids, state=RecordingState.STORED).count()
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
        digests = {r.file_name: sim.control.recording_info(r.file_name)["sha256"] for r in rows}
        mismatched = [r.pk for r in rows if r.sha256 != digests[r.file_name]]
        curl_wrong = [
            name
            for name, (size, digest) in curl_digests.items()
            if digest != digests.get(name)
            or size != next(r.size for r in rows if r.file_name == name)
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
    console = [phase for phase in phases if phase["side"] == "console"]
    curl = [phase for phase in phases if phase["side"] == "curl"]
    console_seconds = sum(phase["seconds"] for phase in console)
    curl_seconds = sum(phase["seconds"] for phase in curl)
    megabytes = total_bytes / 1e6

    def cpu(side: list[dict[str, Any]], groups: tuple[str, ...]) -> dict[str, Any]:
        seconds = {group: sum(phase["cpu"].get(group, 0.0) for phase in side) for group in groups}
        seconds["total"] = sum(seconds.values())
        return {
            "seconds": {group: round(value, 2) for group, value in seconds.items()},
            "ms_per_recording": _cost.per_unit_ms(seconds, len(ids)),
            "ms_per_megabyte": {
                group: round(value * 1000 / megabytes, 3) for group, value in seconds.items()
            },
        }

    # Each round's ratio: the same files, one side right after the other.
    ratios = sorted(
        round(b["seconds"] / a["seconds"], 3)
        for a, b in zip(console, curl, strict=True)
        if a["seconds"] > 0
    )
    return {
        "what": (
            f"{len(ids)} recordings ({options.min_seconds}-{options.max_seconds} s, plus one of "
            f"{options.big_seconds} s) pulled from the simulator over HTTP by "
            f"{options.workers} Celery worker processes (prefork pool), stored on the local "
            f"file system; beside curl ({options.workers} parallel transfers) downloading the "
            f"same files, in {len(rounds)} alternating rounds of {options.round}"
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
            "curl": subprocess.run(
                [CURL, "--version"], capture_output=True, text=True, check=False
            ).stdout.split("\n")[0],
        },
        "recordings": len(ids),
        "stored": stored,
        "rounds": len(rounds),
        "megabytes": round(megabytes, 1),
        "largest_file_mb": round(biggest / 1e6, 1),
        "console": {
            "seconds": round(console_seconds, 2),
            "mb_per_second": round(megabytes / console_seconds, 1),
            "recordings_per_minute": round(len(ids) / console_seconds * 60, 1),
            "cpu": cpu(console, ("workers", "postgres", "simulator")),
            "bench_cpu_seconds_ingest_and_polling": round(
                sum(phase["cpu"]["bench"] for phase in console), 2
            ),
        },
        "curl": {
            "seconds": round(curl_seconds, 2),
            "mb_per_second": round(megabytes / curl_seconds, 1),
            "recordings_per_minute": round(len(ids) / curl_seconds * 60, 1),
            "cpu": cpu(curl, ("curl", "simulator")),
        },
        "throughput_ratio_console_to_curl": round(curl_seconds / console_seconds, 3),
        "round_ratios_min_median_max": [ratios[0], ratios[len(ratios) // 2], ratios[-1]],
        "warm_up_simulator_cpu_seconds": round(warm_cpu, 1),
        "worker_idle_rss_mb": idle_mb,
        "worker_peak_rss_mb": worker_peaks_mb,
        "worker_peak_minus_idle_mb": growth_mb,
        "worker_main_process_peak_rss_mb": round((main_peak or 0) / 1024, 1),
        "sha256_mismatches": len(mismatched),
        "curl_files_wrong": len(curl_wrong),
        "files_in_storage": len(names),
        "attempts_max": attempts[-1] if attempts else 0,
        "recordings_needing_more_than_one_attempt": sum(1 for a in attempts if a > 1),
    }
