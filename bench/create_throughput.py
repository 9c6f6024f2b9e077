"""End-to-end binding throughput: 32 threads create AXB bindings, Celery workers bind them.

The real parts: a benchmark database in PostgreSQL (``bench_create``), Redis as the broker (its
own database and queue), Celery worker processes (``celery -A shell worker``), and the platform
simulator subprocess over HTTP. 32 threads call ``services.create_binding`` (the form's service:
rules, X chosen under row locks, audit row, bind queued on commit) as fast as they can; the clock
stops when the last binding is ``active``. Every platform answer is checked: a refusal caused by
our own choice of X would show as a non-zero result code.

CPU seconds of each part (the creating process, the workers, the simulator, PostgreSQL, Redis)
are read from /proc before and after, to show where the time goes.

    python -m bench create_throughput [--bindings 6000] [--threads 32] [--workers 2]
        [--pool threads] [--concurrency 8] [--numbers 2000] [--vacuum-every 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bindings import benchmarking

REPO = Path(__file__).resolve().parent.parent
APP_KEY = "benchAxbKey000000000000000000001"
APP_SECRET = "benchAxbSecret00000000000000001"  # noqa: S105 - the simulator's test app


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench create_throughput")
    parser.add_argument("--database", default=benchmarking.database_url("bench_create"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--queue", default="bench_create")
    parser.add_argument("--bindings", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])
    parser.add_argument("--concurrency", type=int, default=8, help="per worker process")
    parser.add_argument("--numbers", type=int, default=2000)
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=5.0,
        help="seconds between VACUUM ANALYZEs of the hot tables, standing in for autovacuum "
        "when the server has it off (0: never)",
    )
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(args)


def start_workers(options: argparse.Namespace) -> list[subprocess.Popen]:
    workers = []
    for index in range(options.workers):
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shell",
            "worker",
            "-Q",
            options.queue,
            "-P",
            options.pool,
            "-c",
            str(options.concurrency),
            "-n",
            f"bench{index}@%h",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        workers.append(
            subprocess.Popen(
                command,
                cwd=REPO,
                env=os.environ.copy(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    from shell.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= options.workers:
            return workers
    raise RuntimeError("the Celery workers did not answer within 60 s")


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            total += benchmarking.cpu_seconds(pid)
    return total


def run(args: list[str]) -> dict:
    options = parse(args)
    benchmarking.configure(options.database, redis_url=options.redis, queue=options.queue)
    benchmarking.recreate_database(options.database)
    from simulator.testing import run_simulator

    numbers = [{"number": f"+86170{i:08d}", "city": "0755"} for i in range(options.numbers)]
    config = {
        "apps": [{"app_key": APP_KEY, "app_secret": APP_SECRET, "mode": "AXB", "numbers": numbers}]
    }
    workers: list[subprocess.Popen] = []
    try:
        benchmarking.setup_django()
        with run_simulator(config) as sim:
            return measure(options, sim, workers)
    finally:
        stop_workers(workers)
        from django.db import connections

        connections.close_all()
        if not options.keep:
            benchmarking.drop_database(options.database)


def measure(options: argparse.Namespace, sim, workers: list[subprocess.Popen]) -> dict:
    from django.db import connection
    from django.db.models import Max, Min

    from bindings import services
    from bindings.models import Binding
    from console.models import PlatformCall
    from shell.celery import app

    application = benchmarking.bench_application(APP_KEY, APP_SECRET, sim.base_url)
    benchmarking.copy_numbers(application, options.numbers)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE bindings_xnumber")
    app.control.purge()
    workers.extend(start_workers(options))

    def wait_settled(timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while Binding.objects.filter(status="pending").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("bindings still pending after the timeout")
            time.sleep(0.2)

    # Warm up: connections, imports, the simulator's and PostgreSQL's caches.
    for i in range(200):
        services.create_binding(
            application,
            {"a_number": f"+86150{i:08d}", "b_number": f"+86151{i:08d}", "area_code": "0755"},
        )
    wait_settled()
    warm = Binding.objects.count()

    work: queue.Queue[int] = queue.Queue()
    for i in range(options.bindings):
        work.put(i)
    refused_here: list[str] = []
    errors: list[str] = []
    start = threading.Barrier(options.threads + 1)
    measured_cpu = threading.Event()
    finished = threading.Barrier(options.threads + 1)

    def creator() -> None:
        from django.db import connection as thread_connection

        thread_connection.ensure_connection()  # open before PostgreSQL's CPU is first read
        start.wait()
        try:
            while True:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    services.create_binding(
                        application,
                        {
                            "a_number": f"+86138{i:08d}",
                            "b_number": f"+86139{i:08d}",
                            "area_code": "0755",
                        },
                    )
                except services.BindingRefused as refusal:
                    refused_here.append(refusal.rule)
                except Exception as error:  # reported, never hidden
                    errors.append(f"{type(error).__name__}: {error}")
        finally:
            finished.wait()
            measured_cpu.wait()  # the backend's CPU is read before its connection closes
            thread_connection.close()

    parts = {
        "creating process (32 threads)": [os.getpid()],
        "celery workers": benchmarking.with_descendants([w.pid for w in workers]),
        "simulator": [sim.process.pid],
        "postgresql": [],  # filled once every connection is open (see below)
        "redis": benchmarking.pids_named("redis-server"),
    }
    stop_vacuum = threading.Event()

    def vacuum() -> None:
        """What autovacuum and autoanalyze do for the hot tables (the server may have them off).

        Without it, dead index entries pile up in the pool's choice index and the planner's
        statistics say the bindings table is empty, so it reads a status index from end to end
        where the primary key would find one row.
        """
        import psycopg

        with psycopg.connect(
            options.database.replace("postgres://", "postgresql://"), autocommit=True
        ) as own:
            while not stop_vacuum.wait(options.vacuum_every):
                own.execute("VACUUM ANALYZE bindings_xnumber")
                own.execute("VACUUM ANALYZE bindings_binding")
                own.execute("VACUUM ANALYZE bindings_platformcall")

    vacuuming = threading.Thread(target=vacuum, daemon=True)
    if options.vacuum_every > 0:
        vacuuming.start()
    threads = [threading.Thread(target=creator) for _ in range(options.threads)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # every thread has connected (they wait at the barrier)
    database = options.database.rsplit("/", 1)[-1]
    # Server processes only: the workers' own command line names the queue "bench_create" too.
    parts["postgresql"] = benchmarking.postgres_backends(database)
    cpu_before = {name: cpu_of(pids) for name, pids in parts.items()}
    busy_before = benchmarking.machine_busy_seconds()
    start.wait()
    started_wall = time.time()
    started = time.perf_counter()
    finished.wait()
    created_seconds = time.perf_counter() - started
    wait_settled()
    settled_seconds = time.perf_counter() - started
    cpu_after = {name: cpu_of(pids) for name, pids in parts.items()}
    machine_busy = benchmarking.machine_busy_seconds() - busy_before
    settled_wall = settled_seconds
    measured_cpu.set()
    stop_vacuum.set()
    for thread in threads:
        thread.join()

    measured = Binding.objects.filter(pk__gt=0).order_by("pk")[warm:]
    ids = list(measured.values_list("pk", flat=True))
    window = Binding.objects.filter(pk__in=ids).aggregate(
        first=Min("created_at"), last=Max("bound_at")
    )
    status_counts = dict(
        Counter(Binding.objects.filter(pk__in=ids).values_list("status", flat=True))
    )
    platform_refusals = PlatformCall.objects.filter(binding_id__in=ids).exclude(result_code="0")
    end_to_end = (window["last"].timestamp() - started_wall) if window["last"] else None
    active = status_counts.get("active", 0)
    cpu = {name: round(cpu_after[name] - cpu_before[name], 1) for name in parts}
    return {
        "threads": options.threads,
        "workers": f"{options.workers} x {options.pool} x {options.concurrency}",
        "cpus": os.cpu_count(),
        "server_autovacuum": _setting("autovacuum"),
        "vacuum_every_seconds": options.vacuum_every,
        "load_average": os.getloadavg(),
        "bindings": options.bindings,
        "created": len(ids),
        "statuses": status_counts,
        "refused_by_console": len(refused_here),
        "errors": errors[:10],
        "platform_refusals": platform_refusals.count(),
        "platform_refusal_codes": sorted(
            set(platform_refusals.values_list("result_code", flat=True))
        ),
        "create_seconds": round(created_seconds, 2),
        "creates_per_second": round(len(ids) / created_seconds, 1),
        "end_to_end_seconds": round(end_to_end or settled_seconds, 2),
        "bindings_active_per_second": round(active / (end_to_end or settled_seconds), 1),
        "cpu_seconds": cpu,
        "cpu_ms_per_binding": {
            name: round(1000 * value / max(1, len(ids)), 2) for name, value in cpu.items()
        },
        # The same window as cpu_seconds: from the start to the last binding seen active.
        "machine_busy_cpu_seconds": round(machine_busy, 1),
        "measured_window_seconds": round(settled_wall, 2),
        "wall_cpu_capacity_seconds": round(
            (end_to_end or settled_seconds) * (os.cpu_count() or 1), 1
        ),
    }


def _setting(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]
