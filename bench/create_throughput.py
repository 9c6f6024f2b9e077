"""End-to-end binding throughput: 32 threads create AXB bindings, Celery workers bind them.

The real parts: a benchmark database in PostgreSQL (``bench_create``), Redis as the broker (its
own database and queue), Celery worker processes (``celery -A shell worker``), and the platform
simulator subprocess over HTTP. 32 threads call ``services.create_binding`` (the form's service:
rules, X chosen under row locks, audit row, bind queued on commit) as fast as they can; the clock
stops when the last binding is ``active``. Every platform answer is checked: a refusal caused by
our own choice of X would show as a non-zero result code.

CPU seconds of each of the benchmark's own parts (the creating process, the workers, the
simulator, the PostgreSQL backends of its database) are sampled from /proc (``bench/_cost.py``),
to show where the time goes; the total of those processes, not the machine's busy time, is the
run's cost (the machine is shared). Redis and PostgreSQL's shared processes serve everybody: they
are reported apart. The anchor is the simulator's own CPU per bind, measured in the same run.
Database, Redis database, queue and worker names are the run's own, so two runs can coexist.

    python -m bench create_throughput [--bindings 6000] [--threads 32] [--workers 2]
        [--pool threads] [--concurrency 8] [--numbers 2000] [--vacuum-every 5]
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench import _cost
from bindings import benchmarking

REPO = Path(__file__).resolve().parent.parent
APP_KEY = "benchAxbKey000000000000000000001"
APP_SECRET = "benchAxbSecret00000000000000001"  # noqa: S105 - the simulator's test app


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench create_throughput")
    parser.add_argument(
        "--database", default=None, help="default: a database of the run's own, dropped after"
    )
    parser.add_argument("--redis", default=None, help="default: a Redis db claimed for the run")
    parser.add_argument("--queue", default=None, help="default: a queue name of the run's own")
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
    options = parser.parse_args(args)
    name = _cost.run_name("bench_create")
    options.database = options.database or benchmarking.database_url(name)
    options.queue = options.queue or name
    return options


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
            f"{options.queue}-{index}@%h",
            "--loglevel",
            getattr(options, "loglevel", "WARNING"),
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

    # Only this run's workers answer (another run's may share the broker's database).
    names = [f"{options.queue}-{index}@{socket.gethostname()}" for index in range(options.workers)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(destination=names, timeout=1.0) or []) >= options.workers:
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


def run(args: list[str]) -> dict:
    return run_measured(parse(args), measure)


def create_from(work: queue.Queue[int], application, refused: list[str], errors: list[str]) -> None:
    """Create AXB bindings numbered by ``work`` through the form's service until it is empty;
    a refusal's rule goes into ``refused``, any other failure into ``errors`` (never hidden)."""
    from bindings import services

    while True:
        try:
            i = work.get_nowait()
        except queue.Empty:
            return
        try:
            services.create_binding(
                application,
                {"a_number": f"+86138{i:08d}", "b_number": f"+86139{i:08d}", "area_code": "0755"},
            )
        except services.BindingRefused as refusal:
            refused.append(refusal.rule)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")


def run_measured(options: argparse.Namespace, measure) -> dict:
    """The run's own database, Redis database and simulator (one AXB application with
    ``options.numbers`` numbers) around ``measure(options, sim, workers)``; whatever workers it
    started are stopped and the database dropped (unless ``--keep``) afterwards."""
    claim = None
    if options.redis is None:
        options.redis, claim = _cost.claim_redis_db()
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
        if claim is not None:
            _cost.release_redis_db(options.redis, claim)


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
            create_from(work, application, refused_here, errors)
        finally:
            finished.wait()
            measured_cpu.wait()  # the backend's CPU is read before its connection closes
            thread_connection.close()

    database = options.database.rsplit("/", 1)[-1]
    worker_pids = [w.pid for w in workers]
    meter = _cost.Meter(
        database=database,  # the run's own: every backend of it serves this run
        groups={
            "creating process": lambda procs: [os.getpid()],
            "celery workers": lambda procs: procs.descendants(worker_pids),
            "simulator": lambda procs: procs.descendants([sim.process.pid]),
        },
    )
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
    meter.__enter__()
    cpu_before = meter.read()
    shared_before = _cost.shared_cpu_seconds()
    start.wait()
    started_wall = time.time()
    started = time.perf_counter()
    finished.wait()
    created_seconds = time.perf_counter() - started
    wait_settled()
    settled_seconds = time.perf_counter() - started
    cpu_after = meter.read()
    meter.__exit__(None, None, None)
    shared = _cost.difference(_cost.shared_cpu_seconds(), shared_before)
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
    used = _cost.difference(cpu_after, cpu_before)
    # "children" is every process the run started (workers, simulator): their sum, a check.
    parts = ["creating process", "celery workers", "simulator", "postgres"]
    cpu = {name: round(used[name], 2) for name in parts}
    own = used["bench"] + used["children"] + used["postgres"]
    console_own = own - used["simulator"]
    per_binding = 1000 / max(1, active)
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
        "correct": not errors
        and not refused_here
        and platform_refusals.count() == 0
        and status_counts == {"active": len(ids)}
        and len(ids) == options.bindings,
        "cpu_seconds": cpu,
        "cpu_ms_per_binding": {name: round(value * per_binding, 2) for name, value in cpu.items()},
        # The goals: the worker's CPU, and the console's own parts (creating process, workers,
        # PostgreSQL) per binding; the anchor is the simulator's own CPU per bind.
        "worker_cpu_ms_per_binding": round(used["celery workers"] * per_binding, 2),
        "console_cpu_ms_per_binding": round(console_own * per_binding, 2),
        "anchor_simulator_cpu_ms_per_bind": round(used["simulator"] * per_binding, 2),
        # Every process of the run (the creating process, everything it started, its backends),
        # over the same window: what replaces the machine's busy time.
        "own_processes_cpu_seconds": round(own, 1),
        "shared_processes_cpu_seconds_not_counted": {k: round(v, 2) for k, v in shared.items()},
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
