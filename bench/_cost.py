"""Cost per unit of a benchmark: the CPU time of its own processes, and names of its own.

A benchmark on a shared machine cannot trust the wall clock, nor the machine's busy time (the lead's
tests and another helper's benchmark run beside it). What it can trust is the CPU time its own
processes spent, read from ``/proc`` (Linux):

* this process and every process below it (gunicorn and its workers, Celery workers and their
  pool, the simulator: everything the benchmark started);
* any other process it names (``pids=``);
* the PostgreSQL backends serving its own connections: those of its own database (the name is
  unique per run, see :func:`run_name`) or given by ``pg_backend_pid()``.

Processes come and go during a run (a backend per connection, a prefork child replaced), and a
process that has ended can no longer be read. :class:`Meter` therefore samples in a thread
(every ``interval`` seconds) and keeps the last value it saw of each process; a process that ends
between two samples loses at most one interval of its CPU. The children's ``cutime``/``cstime``
are left out on purpose: they would count a reaped child a second time.

Shared processes (PostgreSQL's checkpointer and WAL writer, the Redis server) serve everybody on
the machine: :func:`shared_cpu_seconds` reports them apart, never inside a benchmark's cost.
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable

TICK = os.sysconf("SC_CLK_TCK")


def run_name(prefix: str) -> str:
    """A name no other run uses at the same time (databases, queues, worker names)."""
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"


def add_database_options(parser: argparse.ArgumentParser, keep: str = "") -> None:
    """``--database``, ``--keep`` and ``--reuse``: a benchmark whose load is worth keeping."""
    parser.add_argument(
        "--database", help="database name (default: one of the run's own, dropped at the end)"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the database afterwards{keep}")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a database kept by --keep: skip the load"
    )


def database_name(parser: argparse.ArgumentParser, options: argparse.Namespace, prefix: str) -> str:
    """``--database``'s name, else one of the run's own; ``--reuse`` needs ``--database``."""
    if options.reuse and not options.database:
        parser.error("--reuse needs --database (the name a --keep run printed)")
    return options.database or run_name(prefix)


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds of all its threads), or None if it has ended."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            stat = file.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it has ended)."""
    found = _stat(pid)
    return found[1] if found else 0.0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def descendants(roots: Iterable[int]) -> set[int]:
    """``roots`` and every process below them."""
    parents: dict[int, list[int]] = {}
    for pid in _all_pids():
        found = _stat(pid)
        if found is not None:
            parents.setdefault(found[0], []).append(pid)
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(parents.get(pid, []))
    return seen


def postgres_backends(database: str) -> set[int]:
    """PostgreSQL server processes serving connections to ``database`` (``postgres: user db …``).

    Only meaningful when the database name is the benchmark's own (:func:`run_name`).
    """
    found = set()
    for pid in _all_pids():
        command = _cmdline(pid)
        if command.startswith("postgres:") and f" {database} " in command:
            found.add(pid)
    return found


def backend_pid(connection) -> int:
    """The server process of a DB-API connection (psycopg or a Django connection's cursor)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def shared_cpu_seconds() -> dict[str, float]:
    """CPU of the processes that serve everybody: reported beside a run, never counted in it."""
    totals = {"postgres_shared": 0.0, "redis_server": 0.0}
    for pid in _all_pids():
        command = _cmdline(pid)
        if command.startswith("postgres:") and "(" not in command and "[local]" not in command:
            totals["postgres_shared"] += process_seconds(pid)
        elif command.startswith("redis-server") or "/redis-server" in command:
            totals["redis_server"] += process_seconds(pid)
    return totals


class Procs:
    """One reading of ``/proc``: every process's parent and CPU seconds (read once per sample,
    whatever the number of groups)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        for pid in _all_pids():
            found = _stat(pid)
            if found is not None:
                self.parent[pid], self.cpu[pid] = found

    def descendants(self, roots: Iterable[int]) -> set[int]:
        """``roots`` (those still running) and every process below them."""
        children: dict[int, list[int]] = {}
        for pid, parent in self.parent.items():
            children.setdefault(parent, []).append(pid)
        seen: set[int] = set()
        todo = [pid for pid in roots if pid in self.cpu]
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.add(pid)
                todo.extend(children.get(pid, []))
        return seen

    def postgres_backends(self, database: str) -> set[int]:
        """Server processes serving connections to ``database`` (see :func:`postgres_backends`)."""
        found = set()
        for pid in self.cpu:
            if pid in _NOT_POSTGRES:
                continue
            command = _cmdline(pid)
            if "postgres" not in command:
                _NOT_POSTGRES.add(pid)  # a new backend could carry the postmaster's title
            elif command.startswith("postgres:") and f" {database} " in command:
                found.add(pid)
        return found


# Processes seen to be no PostgreSQL process at all: their command lines are not read again.
_NOT_POSTGRES: set[int] = set()


class Meter:
    """CPU seconds of named groups of the benchmark's own processes, sampled in a thread.

    ``groups`` maps a name to a function of a :class:`Procs` reading giving the group's pids.
    The default groups: ``bench`` (this process), ``children`` (every process below it), and
    ``postgres`` (the backends of ``database``, less ``exclude_backends``) when a database is
    given. ``read()`` is a fresh sample: subtract two readings to get a phase's cost. A sample
    costs about a millisecond of this process's CPU (a hundred processes on the machine).
    """

    def __init__(
        self,
        *,
        database: str | None = None,
        exclude_backends: Iterable[int] = (),
        groups: dict[str, Callable[[Procs], Iterable[int]]] | None = None,
        interval: float = 0.25,
    ) -> None:
        me = os.getpid()
        self.excluded = set(exclude_backends)
        self.groups: dict[str, Callable[[Procs], Iterable[int]]] = {
            "bench": lambda procs: [me],
            "children": lambda procs: procs.descendants([me]) - {me},
        }
        if database is not None:
            self.groups["postgres"] = lambda procs: (
                procs.postgres_backends(database) - self.excluded
            )
        self.groups.update(groups or {})
        self.interval = interval
        self._last: dict[str, dict[int, float]] = {name: {} for name in self.groups}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """Read ``/proc`` once; remember the last value seen of every process of every group."""
        procs = Procs()
        with self._lock:
            for name, pids in self.groups.items():
                last = self._last[name]
                for pid in pids(procs):
                    seconds = procs.cpu.get(pid)
                    if seconds is not None and seconds >= last.get(pid, 0.0):
                        last[pid] = seconds

    def read(self) -> dict[str, float]:
        """CPU seconds per group so far (processes that ended count up to their last sample)."""
        self.sample()
        with self._lock:
            return {name: sum(last.values()) for name, last in self._last.items()}

    def seen(self, group: str) -> int:
        """How many processes of ``group`` were seen so far (a backend per request shows here)."""
        with self._lock:
            return len(self._last[group])

    def __enter__(self) -> Meter:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-meter")
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def difference(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """CPU seconds per group between two readings."""
    return {name: after[name] - before.get(name, 0.0) for name in after}


def per_unit_ms(seconds: dict[str, float], units: int) -> dict[str, float]:
    """Milliseconds of CPU per unit of work, per group."""
    return {name: round(value * 1000 / max(1, units), 3) for name, value in seconds.items()}


def wall() -> float:
    return time.perf_counter()


# Redis databases a benchmark may take for a run; 15 is the tests', the low ones the developers'.
REDIS_CANDIDATES = range(8, 15)
CLAIM_KEY = "bench:claimed-by"


def claim_redis_db(
    server: str = "redis://127.0.0.1:6379", *, hours: float = 3.0
) -> tuple[str, str]:
    """A Redis database no other benchmark run holds: (its URL, the claim token).

    The claim is a key in the database itself, set only if absent (so two runs started together
    cannot both take it), with an expiry so that a run that died frees it. :func:`release_redis_db`
    gives it back.
    """
    import redis

    token = run_name("claim")
    for number in REDIS_CANDIDATES:
        url = f"{server.rstrip('/')}/{number}"
        client = redis.Redis.from_url(url)
        try:
            if client.set(CLAIM_KEY, token, nx=True, ex=int(hours * 3600)):
                return url, token
        finally:
            client.close()
    raise RuntimeError(f"every Redis database {REDIS_CANDIDATES} is claimed by another run")


def release_redis_db(url: str, token: str) -> None:
    """Give back a database taken by :func:`claim_redis_db` (only if this run still holds it)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        if client.get(CLAIM_KEY) == token.encode():
            client.delete(CLAIM_KEY)
    finally:
        client.close()


class OwnRedis:
    """``url`` when one is given, else a Redis database claimed for the run, given back when the
    run ends (``with OwnRedis(options.redis) as url: …``)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._token: str | None = None

    def __enter__(self) -> str:
        if self.url is None:
            self.url, self._token = claim_redis_db()
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None and self.url is not None:
            release_redis_db(self.url, self._token)
