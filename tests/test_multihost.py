"""The console on several hosts, and a worker host lost in the middle of the run (issue 20).

Four hosts, each a Linux network namespace with its own address (tests/multihost.py): a web host
(gunicorn), two worker hosts (``celery -A shell worker`` each) and a beat host (``celery -A shell
beat``, the project's scheduler). They reach PostgreSQL, Redis and the platform simulator only
through the network's gateway address. Through them go: binds made with the REST API, the CDRs
the simulator pushes for the calls on those bindings (to the web host's receiver), the recording
downloads those CDRs start, and an X-number import uploaded and confirmed on the pages. Half
way through the binds, as soon as a worker host runs the import, that host is switched off:
every process in its namespace gets SIGKILL while it holds jobs. Then every job must finish
exactly once on the surviving host: nothing lost, nothing bound twice on the platform, no CDR
stored twice, one stored file per recording. The time from the kill to full recovery is
measured and reported.

Leases and the sweep are short here (``HOST_SETTINGS``) so that recovery takes seconds, not the
minutes of the defaults. ``scripts/multihost.sh`` runs this test and prints its report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
import requests
from django.utils import timezone

from billing.models import CallRecord
from bindings.choices import BindingStatus, NumberImportState
from bindings.models import Binding, NumberImport, XNumber
from bindings.tests.conftest import APP_KEYS, POOLS, simulator_config
from console import apikeys
from console.choices import ApiScope
from console.models import PlatformCall
from console.testing import KNOWN_PASSWORD, database_url
from console.testing.factories import ApplicationFactory
from recordings.choices import RecordingState
from recordings.models import Recording
from shell import beat
from shell.celery import app
from simulator.testing import run_simulator
from tests.multihost import Forwarder, Network, remove_stale

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.simulator,
    pytest.mark.slow,
    pytest.mark.multihost,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WEB_PORT = 8000
BINDS = 48  # bindings made through the API in two waves, one call (a CDR, a recording) on each
IMPORT_ROWS = 15000  # X numbers in the imported file: its import runs for seconds
CALL_SECONDS = 20  # each call's length: its recording is a 20-second WAV
# The platform answers binds and recording addresses this slowly (ms): work is in flight.
LATENCY_MS = {"axb.bind": 2000, "record.url": 1000}
WORKER_THREADS = 4
# The hosts' settings: short leases and a sweep every 2 s, so that the jobs of a lost host are
# sent again within seconds; Redis's visibility timeout follows from them (25 s here).
HOST_SETTINGS = {
    "JOBS_LEASE_SECONDS": "5",
    "JOBS_SWEEP_EVERY_SECONDS": "2",
    "RECORDINGS_LEASE_SECONDS": "5",
    "CELERY_TASK_TIME_LIMIT": "20",
    "CELERY_TASK_SOFT_TIME_LIMIT": "18",
    "BINDINGS_RETRY_BACKOFF_MAX": "5",
    "RECORDINGS_RETRY_BACKOFF_MAX": "5",
    "BINDINGS_PLATFORM_READ_TIMEOUT": "5",  # a bind on its way is waited for 9 s at most
    "X_COOLDOWN_SECONDS": "0",
    "BROKER_RESTORE_EVERY_SECONDS": "2",
    "LOG_LEVEL": "WARNING",
}
VISIBILITY_SECONDS = 25  # CELERY_TASK_TIME_LIMIT + JOBS_LEASE_SECONDS (shell/settings.py)
RECOVERY_TIMEOUT = 90


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    """Poll ``condition`` (bounded in time and count) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    for _attempt in range(int(timeout / interval) + 1):
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {what}")


@dataclass
class Cluster:
    """The running hosts, the simulator, the storage they share and the workers' node names."""

    network: Network
    sim: object
    storage: Path
    worker_names: dict[str, str] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://{self.network.hosts['web'].address}:{WEB_PORT}"

    def logs(self) -> str:
        return "\n".join(host.tail() for host in self.network.hosts.values())


def host_environment(network: Network, storage: Path) -> dict[str, str]:
    """The environment of every host: the database, the broker and the cache at the gateway."""
    gateway = network.gateway

    def at_gateway(url: str, default_port: int) -> str:
        parsed = urlparse(url)
        user = parsed.username or ""
        if parsed.password:
            user += f":{parsed.password}"
        where = f"{gateway}:{parsed.port or default_port}"
        return parsed._replace(netloc=f"{user}@{where}" if user else where).geturl()

    redis_url = at_gateway(app.conf.broker_url, 6379)
    web = network.hosts["web"].address
    return {
        **os.environ,
        "DATABASE_URL": at_gateway(database_url(), 5432),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url,
        "ALLOWED_HOSTS": web,
        "CONSOLE_BASE_URL": f"http://{web}:{WEB_PORT}",
        "HTTPS": "false",
        "MEDIA_ROOT": str(storage / "media"),
        "RECORDINGS_SPOOL_DIR": str(storage / "spool"),
        **HOST_SETTINGS,
    }


def platform_config(web: str) -> dict:
    """The simulator's applications (those of the bindings tests), CDRs pushed to the web host."""
    config = simulator_config()
    for application in config["apps"]:
        application["fee_url"] = f"http://{web}:{WEB_PORT}/hooks/fee"
    return config


def services() -> list[tuple[int, tuple[str, int]]]:
    """PostgreSQL's and Redis's ports, each with where the suite reaches it (host, port)."""
    found = []
    for url, default in ((database_url(), 5432), (app.conf.broker_url, 6379)):
        parsed = urlparse(url)
        port = parsed.port or default
        found.append((port, (parsed.hostname or "127.0.0.1", port)))
    return found


def broker() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url)


def clean_broker() -> None:
    app.control.purge()
    broker().delete("unacked", "unacked_index", "unacked_mutex", beat.LOCK_KEY)


@contextmanager
def cluster(tmp_path: Path):
    """The four hosts running, and the simulator on the gateway; everything gone afterwards."""
    remove_stale()
    network = Network(["web", "worker1", "worker2", "beat"])
    forwarder = None
    clean_broker()
    try:
        network.up()
        forwarder = Forwarder(network.gateway, dict(services())).start()
        web = network.hosts["web"].address
        with run_simulator(platform_config(web), host=network.gateway) as sim:
            storage = tmp_path / "storage"
            env = host_environment(network, storage)
            running = Cluster(network, sim, storage)
            network.hosts["web"].start(
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    "python:shell.gunicorn_config",
                    "shell.wsgi",
                    "--bind",
                    f"{web}:{WEB_PORT}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=REPO,
                log=tmp_path / "web.log",
            )
            for role in ("worker1", "worker2"):
                name = f"{role}-{os.getpid()}@{network.hosts[role].address}"
                running.worker_names[role] = name
                network.hosts[role].start(
                    [
                        str(BIN / "celery"),
                        "-A",
                        "shell",
                        "worker",
                        "--pool",
                        "threads",
                        "--concurrency",
                        str(WORKER_THREADS),
                        "--hostname",
                        name,
                        "--without-gossip",
                        "--without-mingle",
                        "--loglevel",
                        "WARNING",
                    ],
                    env=env,
                    cwd=REPO,
                    log=tmp_path / f"{role}.log",
                )
            network.hosts["beat"].start(
                [
                    str(BIN / "celery"),
                    "-A",
                    "shell",
                    "beat",
                    "--loglevel",
                    "WARNING",
                    "--schedule",
                    str(tmp_path / "beat-schedule"),
                ],
                env=env,
                cwd=REPO,
                log=tmp_path / "beat.log",
            )
            try:
                ready(running)
                yield running
            except BaseException as error:
                raise AssertionError(f"{error}\n\nlogs of the hosts:\n{running.logs()}") from error
    finally:
        if forwarder is not None:
            forwarder.stop()
        left = network.down()
        clean_broker()
        assert not left, f"not torn down: {left}"


def ready(cluster: Cluster) -> None:
    """The web host answers, both workers answer a ping, the beat holds its lock; and from a
    host, PostgreSQL and Redis exist only at the gateway (nothing listens on its loopback)."""

    def web_answers() -> bool:
        try:
            return requests.get(f"{cluster.web_url}/admin/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(web_answers, 60, "the web host answers")
    names = list(cluster.worker_names.values())
    wait_for(
        lambda: len(app.control.ping(destination=names, timeout=1)) == len(names),
        60,
        "both worker hosts answer a ping",
        interval=0.5,
    )
    wait_for(lambda: broker().exists(beat.LOCK_KEY), 60, "the beat host holds the beat lock")
    probe = (
        "import socket, sys\n"
        "for address in sys.argv[1:]:\n"
        "    host, port = address.rsplit(':', 1)\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    print(address, s.connect_ex((host, int(port))) == 0)\n"
    )
    ports = [port for port, _target in services()]
    gateway = cluster.network.gateway
    addresses = [f"127.0.0.1:{port}" for port in ports] + [f"{gateway}:{port}" for port in ports]
    answer = cluster.network.hosts["web"].run([sys.executable, "-c", probe, *addresses])
    reachable = dict(line.split() for line in answer.stdout.splitlines())
    assert reachable == {
        **{f"127.0.0.1:{port}": "False" for port in ports},
        **{f"{gateway}:{port}": "True" for port in ports},
    }, answer


def signed_in(cluster: Cluster, username: str) -> requests.Session:
    """A browser session on the web host, signed in through the admin's login page."""
    session = requests.Session()
    session.trust_env = False
    login = f"{cluster.web_url}/admin/login/"
    page = session.get(login, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        login,
        {"username": username, "password": KNOWN_PASSWORD, "csrfmiddlewaretoken": token},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def numbers_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "city_code"])
    writer.writerows([f"+86172{i:08d}", "0571"] for i in range(rows))
    return out.getvalue().encode()


def in_flight(names: list[str]) -> dict[str, list[dict]]:
    """The tasks each worker is running right now (Celery's remote control)."""
    return app.control.inspect(destination=names, timeout=1.0).active() or {}


SWEPT = re.compile(r"sweeper: (\d+) (\w+) job\(s\) outlived their lease")


def swept(logs: list[Path]) -> dict[str, int]:
    """Jobs the sweeper sent again, by kind, from the workers' logs (it logs each sweep)."""
    counts: Counter[str] = Counter()
    for log in logs:
        for count, kind in SWEPT.findall(log.read_text(errors="replace")):
            counts[kind] += int(count)
    return dict(sorted(counts.items()))


def report_path(tmp_path: Path) -> Path:
    return Path(os.environ.get("MULTIHOST_REPORT") or tmp_path / "multihost-report.json")


def test_a_worker_host_lost_mid_run_loses_no_job_and_does_none_twice(
    transactional_db, tmp_path, make_user
):
    started = time.monotonic()
    with cluster(tmp_path) as running:
        control = running.sim.control
        sim_url = running.sim.base_url
        # given the applications mirrored in the console, a key for the order system, and an
        # administrator on the pages
        axb = ApplicationFactory(
            name="Multi-host AXB", mode="AXB", app_key=APP_KEYS["AXB"], base_url=sim_url
        )
        XNumber.objects.bulk_create(
            XNumber(application=axb, number=number, city_code=code)
            for number, code in POOLS["AXB"]
            if code == "0755"
        )
        target = ApplicationFactory(
            name="Multi-host import", mode="AX", app_key=APP_KEYS["AX"], base_url=sim_url
        )
        _key, token = apikeys.create_key(
            "order system",
            applications=[axb],
            scopes=[ApiScope.BINDINGS_READ, ApiScope.BINDINGS_WRITE],
            rate_per_minute=100_000,
        )
        make_user("boss", is_superuser=True)
        pages = signed_in(running, "boss")

        # when an X-number import is uploaded and confirmed on the pages of the web host
        upload = pages.post(
            f"{running.web_url}/bindings/numbers/import/",
            data={"resource": "0", "format": "0", "application": target.pk},
            files={"import_file": ("numbers.csv", numbers_file(IMPORT_ROWS))},
            timeout=30,
            allow_redirects=False,
        )
        assert upload.status_code == 302, upload.text[:2000]
        job = NumberImport.objects.get(application=target)
        wait_for(
            lambda: NumberImport.objects.get(pk=job.pk).state == NumberImportState.PREVIEWED,
            60,
            "the import's dry run on a worker host",
        )
        # and the platform answers slowly, so that work is in flight on the workers
        for interface, latency in LATENCY_MS.items():
            control.set_faults(interface, latency_ms=latency)
        # and an order system makes the first half of the bindings through the API of the web
        # host
        api = requests.Session()
        api.trust_env = False
        api.headers["Authorization"] = f"Bearer {token}"

        def create(order: int) -> int:
            response = api.post(
                f"{running.web_url}/api/v1/bindings/",
                json={
                    "application": axb.pk,
                    "a_number": f"+86138{order:08d}",
                    "b_number": f"+86139{order:08d}",
                    "area_code": "0755",
                    "record_flag": True,
                    "order_ref": f"multihost-{order}",
                },
                headers={"Idempotency-Key": f"multihost-{order}"},
                timeout=30,
            )
            return response.status_code

        def create_wave(orders: range) -> None:
            with ThreadPoolExecutor(4) as pool:
                created = list(pool.map(create, orders))
            assert set(created) <= {201, 202}, Counter(created)

        create_wave(range(BINDS // 2))

        # and each binding that is active gets a call, whose CDR the platform pushes to the
        # web host, whose recording a worker downloads
        called: set[int] = set()

        def place_calls() -> None:
            active = Binding.objects.filter(application=axb, status=BindingStatus.ACTIVE)
            for binding in active.exclude(pk__in=called):
                control.place_call(
                    binding.a_number, binding.x_number, "answered", duration=CALL_SECONDS
                )
                called.add(binding.pk)

        def half_bound() -> bool:
            place_calls()
            return len(called) >= BINDS // 4

        wait_for(half_bound, 60, "half the first wave's bindings active")
        # and the import is confirmed on its page, and the second half of the bindings made,
        # while the first wave's binds and downloads go on
        confirmed = pages.post(
            f"{running.web_url}/bindings/numbers/import/{job.pk}/confirm/",
            timeout=30,
            allow_redirects=False,
        )
        assert confirmed.status_code == 302
        create_wave(range(BINDS // 2, BINDS))

        # when one worker host is switched off in the middle of it all: the one running the
        # import, as soon as it runs it
        names = running.worker_names

        snapshot: dict[str, list[dict]] = {}  # the tasks each worker ran at the last look

        def importing_host() -> str | None:
            place_calls()
            busy = in_flight(list(names.values()))
            snapshot.update({role: busy.get(name) or [] for role, name in names.items()})
            for role, tasks in snapshot.items():
                if any(task["name"].endswith("import_numbers_task") for task in tasks):
                    return role
            return None

        def runs(role: str, task_name: str) -> bool:
            return any(task["name"].endswith(task_name) for task in snapshot[role])

        victim = wait_for(importing_host, 60, "the import running on a worker host")
        # (and, if it comes within a few seconds, at a moment it also runs a bind)
        for _attempt in range(10):
            if runs(victim, "bind_binding_task") or importing_host() != victim:
                break
        lost_tasks = snapshot[victim]
        survivor = next(role for role in names if role != victim)
        host = running.network.hosts[victim]
        killed_at, killed_wall = time.monotonic(), timezone.now()
        killed = host.kill()
        assert killed, "the victim host had no process to kill"
        assert host.pids() == [], "processes left on the lost host"
        bound_at_kill = Binding.objects.filter(application=axb, status=BindingStatus.ACTIVE).count()

        # then everything finishes on the surviving host
        def where_it_stands() -> dict[str, object]:
            place_calls()
            return {
                "bindings active": Binding.objects.filter(
                    application=axb, status=BindingStatus.ACTIVE
                ).count(),
                "CDRs stored": CallRecord.objects.filter(application=axb).count(),
                "recordings stored": Recording.objects.filter(
                    application=axb, state=RecordingState.STORED
                ).count(),
                "import": NumberImport.objects.get(pk=job.pk).state,
            }

        done = {
            "bindings active": BINDS,
            "CDRs stored": BINDS,
            "recordings stored": BINDS,
            "import": NumberImportState.DONE,
        }
        timeline: dict[str, float] = {}  # seconds from the kill until each part was complete
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        for _attempt in range(RECOVERY_TIMEOUT * 5):
            standing = where_it_stands()
            for part, value in standing.items():
                if value == done[part] and part not in timeline:
                    timeline[part] = round(time.monotonic() - killed_at, 1)
            if standing == done or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert standing == done, f"not recovered within {RECOVERY_TIMEOUT} s: {standing}"
        recovered_at = time.monotonic()
        assert running.network.hosts[survivor].pids(), "the surviving host is still up"

        # and the messages the lost host held come back from Redis after its visibility
        # timeout, to the survivor, which finds their jobs done and does nothing
        idle_from = time.monotonic()
        wait_for(
            lambda: broker().hlen("unacked") == 0 and broker().llen("console") == 0,
            VISIBILITY_SECONDS + 45,
            "the lost host's messages redelivered and finished",
            interval=0.5,
        )
        idle_after = time.monotonic() - idle_from
        time.sleep(1)  # anything a redelivered message would have done is committed by now

        # then nothing was lost and nothing was done twice: counted first, then each checked
        bindings = list(Binding.objects.filter(application=axb))
        on_platform = control.bindings(APP_KEYS["AXB"])
        per_pair = Counter((row["a"], row["b"]) for row in on_platform)
        calls = CallRecord.objects.filter(application=axb)
        recordings = list(Recording.objects.filter(application=axb))
        stored_files = sorted((running.storage / "media").rglob("*.wav"))
        imported = XNumber.objects.filter(application=target).count()
        lost = {
            "binds": BINDS - sum(b.status == BindingStatus.ACTIVE for b in bindings),
            "binds on the platform": BINDS - len(per_pair),
            "CDRs": BINDS - calls.values("cdr_key").distinct().count(),
            "recordings": BINDS - sum(r.state == RecordingState.STORED for r in recordings),
            "imported numbers": max(0, IMPORT_ROWS - imported),
        }
        duplicated = {
            "bindings": len(bindings) - len({b.order_ref for b in bindings}),
            "binds on the platform": sum(count - 1 for count in per_pair.values()),
            "CDRs": calls.count() - calls.values("cdr_key").distinct().count(),
            "recording files": len(stored_files) - len(recordings),
            "imported numbers": max(0, imported - IMPORT_ROWS),
        }
        assert set(lost.values()) == {0}, lost
        assert set(duplicated.values()) == {0}, duplicated
        assert len(bindings) == BINDS
        assert {b.status for b in bindings} == {BindingStatus.ACTIVE}
        assert len({b.order_ref for b in bindings}) == BINDS
        assert len(on_platform) == BINDS, f"{len(on_platform)} bindings on the platform"
        for binding in bindings:
            assert per_pair[(binding.a_number, binding.b_number)] == 1, binding.order_ref
        by_pair = {(row["a"], row["b"]): row["subscriptionId"] for row in on_platform}
        for binding in bindings:
            assert by_pair[(binding.a_number, binding.b_number)] == binding.subscription_id
        assert calls.count() == BINDS
        assert calls.values("cdr_key").distinct().count() == BINDS
        assert len(recordings) == BINDS
        assert {r.state for r in recordings} == {RecordingState.STORED}
        assert len(stored_files) == BINDS, stored_files
        assert {running.storage / "media" / r.file.name for r in recordings} == set(stored_files)
        attempts = Counter(r.attempts for r in recordings)
        assert max(attempts) <= 3, attempts
        lost_ids = {
            (task["name"].rsplit(".", 1)[-1], task["args"][0])
            for task in lost_tasks
            if task.get("args")
        }
        # Seconds from the kill until each job the lost host was running at the last look was
        # claimed for the last time (by the survivor). The look is up to a second old and some
        # of its tasks are no-op duplicates (a fetch sent again whose recording another worker
        # holds): a negative figure is a job that was finished before the kill.
        taken_over: dict[str, float] = {}
        for recording in recordings:
            if ("fetch_recording_task", recording.pk) in lost_ids:
                taken_over[f"recording {recording.pk} (attempts: {recording.attempts})"] = round(
                    (recording.last_attempt_at - killed_wall).total_seconds(), 1
                )
        job.refresh_from_db()
        assert (job.state, job.imported_count) == (NumberImportState.DONE, IMPORT_ROWS)
        taken_over["import"] = round((job.finished_at - killed_wall).total_seconds(), 1)
        assert XNumber.objects.filter(application=target).count() == IMPORT_ROWS
        lost_binds = {}  # each bind the lost host was running: its attempts, and whether the
        # next run asked the platform first (and adopted what the lost one had sent)
        for binding in bindings:
            if ("bind_binding_task", binding.pk) in lost_ids:
                lost_binds[f"binding {binding.pk}"] = {
                    "bind attempts": binding.bind_attempts,
                    "asked the platform first": PlatformCall.objects.filter(
                        binding=binding, interface="axb_query"
                    ).exists(),
                }

        report = {
            "hosts": {
                role: {"namespace": h.namespace, "address": h.address}
                for role, h in running.network.hosts.items()
            },
            "gateway (PostgreSQL, Redis, simulator)": running.network.gateway,
            "kills survived": 1,
            "killed host": victim,
            "processes killed": len(killed),
            "in flight on the killed host": sorted(
                f"{name}({job_id})" for name, job_id in lost_ids
            ),
            "bindings active when killed": f"{bound_at_kill}/{BINDS}",
            "jobs": {
                "binds": BINDS,
                "CDRs": BINDS,
                "recordings": BINDS,
                "import rows": IMPORT_ROWS,
            },
            "jobs lost": sum(lost.values()),
            "jobs duplicated": sum(duplicated.values()),
            "binds the lost host was running": lost_binds,
            "recording attempts": dict(sorted(attempts.items())),
            "broker idle (nothing queued or unacknowledged) after recovery, seconds": round(
                idle_after, 1
            ),
            "jobs the sweeper sent again": swept(
                [log for role in names for log in running.network.hosts[role].logs]
            ),
            "recovery seconds (kill to every job done)": round(recovered_at - killed_at, 1),
            "recovery timeline (seconds after the kill)": timeline,
            "lost jobs claimed again (seconds after the kill)": taken_over,
            "test seconds": round(time.monotonic() - started, 1),
        }
        report_path(tmp_path).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
