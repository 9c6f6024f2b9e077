"""Nothing is ever stuck, nothing is done twice (issue 13, finding 3).

With the broker unreachable, saving a binding answered 500 and left it pending with its X
reserved, its task never queued. After a kill -9 of a worker mid-bind, the binding stayed pending
although it had landed on the platform; recording fetches stayed ``fetching``, imports
``validating``; the unacked messages came back only after Redis's one-hour visibility timeout.

Real parts: the platform simulator, PostgreSQL, Redis, a ``celery worker`` subprocess killed with
SIGKILL in the middle of its tasks, and a broker that is down (the app pointed at a closed port).
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import psycopg.sql
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing import reconcile
from billing import services as billing_services
from billing.choices import ReconciliationState
from billing.models import BillReconciliation
from bindings import services
from bindings.choices import BindingStatus, BulkJobStatus, NumberImportState
from bindings.models import Binding, BulkJob, NumberImport, Reconciliation, XNumber
from bindings.tests.conftest import APP_KEYS, POOLS, simulator_config
from console import jobs
from console.models import PlatformCall
from console.testing import BROKER_DOWN, broker_at, database_url, wait_until
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo
from recordings.choices import RecordingState
from recordings.models import Recording
from shell.celery import app
from simulator.testing import run_simulator

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.simulator,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

REPO = Path(__file__).resolve().parents[1]
LATER = timedelta(hours=2)  # past every lease


@pytest.fixture(scope="module")
def simulator():
    with run_simulator(simulator_config()) as sim:
        yield sim


@pytest.fixture
def platform(simulator, transactional_db):
    simulator.control.clear_faults()
    simulator.control.reset()
    yield simulator
    simulator.control.clear_faults()


def application(simulator, mode: str = "AXB", city: str | None = None):
    app_row = ApplicationFactory(
        name=f"Sim {mode}", mode=mode, app_key=APP_KEYS[mode], base_url=simulator.base_url
    )
    XNumber.objects.bulk_create(
        XNumber(application=app_row, number=number, city_code=code)
        for number, code in POOLS[mode]
        if city is None or code == city
    )
    return app_row


@pytest.fixture
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    return tmp_path


def broker_redis() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url)


@pytest.fixture
def clean_broker() -> Iterator[None]:
    """No message left behind: the queue, and the unacked messages of the killed worker (they
    would come back in a later run, after the visibility timeout)."""
    app.control.purge()
    yield
    app.control.purge()
    broker_redis().delete("unacked", "unacked_index", "unacked_mutex")


@pytest.fixture
def worker_process(storage):
    """``celery -A shell worker`` as a real process of its own (its own process group), on
    the test database and broker; ``kill()`` sends SIGKILL to it and its pool processes."""

    class Worker:
        process: subprocess.Popen | None = None

        def start(self, concurrency: int) -> None:
            env = {
                **os.environ,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": app.conf.broker_url,
                "MEDIA_ROOT": str(storage / "media"),
                "RECORDINGS_SPOOL_DIR": str(storage / "spool"),
                # A fetch claims its recording under this lease: short, so that the claim of
                # the killed worker runs out within the test.
                "RECORDINGS_LEASE_SECONDS": "3",
                "LOG_LEVEL": "WARNING",
            }
            self.process = subprocess.Popen(
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
                    str(concurrency),
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                    "--hostname",
                    f"killed-{os.getpid()}@%h",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=REPO,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        def kill(self) -> None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    worker = Worker()
    yield worker
    if worker.process is not None and worker.process.poll() is None:
        worker.kill()


def recovered(timeout: float, condition, report=None) -> None:
    """Run a real worker (in this process) until ``condition`` holds."""
    with start_worker(
        app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
    ):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"not recovered within {timeout} s: {report() if report else ''}")
            time.sleep(0.2)


def on_platform(sim, binding: Binding) -> list[dict]:
    """The platform's bindings between this binding's A and B (each pair is used once here)."""
    return [
        row
        for row in sim.control.bindings(APP_KEYS[binding.mode])
        if (row.get("a"), row.get("b")) == (binding.a_number, binding.b_number)
    ]


# --- the sweeper ----------------------------------------------------------------------------------


def test_the_sweeper_sends_again_each_job_whose_lease_ran_out_and_only_those(platform, monkeypatch):
    # given one job of each kind whose lease ran out, and a binding still within its lease
    sent = []
    monkeypatch.setattr(
        jobs,
        "send",
        lambda task, *args, job=None, **kw: (
            sent.append((task.name.rsplit(".", 1)[-1], args, kw)) or True
        ),
    )
    axb = application(platform)
    past = timezone.now() - timedelta(seconds=1)
    pending = services.create_binding(
        axb, {"a_number": "138 0000 0001", "b_number": "139 0000 0001"}
    )
    fresh = services.create_binding(axb, {"a_number": "138 0000 0002", "b_number": "139 0000 0002"})
    Binding.objects.filter(pk=pending.pk).update(lease_until=past)
    bulk = BulkJob.objects.create(
        application=axb, source="a\n", status=BulkJobStatus.RUNNING, lease_until=past
    )
    validating = NumberImport.objects.create(
        application=axb,
        file_format="csv",
        source=b"",
        state=NumberImportState.VALIDATING,
        lease_until=past,
    )
    importing = NumberImport.objects.create(
        application=axb,
        file_format="csv",
        source=b"",
        state=NumberImportState.IMPORTING,
        lease_until=past,
    )
    run = Reconciliation.objects.create(
        application=axb, details={"number_ids": [1, 2]}, lease_until=past
    )
    done = BulkJob.objects.create(
        application=axb, source="a\n", status=BulkJobStatus.DONE, lease_until=past
    )
    bill = BillReconciliation.objects.create(
        month=date(2026, 3, 1), file_format="csv", state="reading", lease_until=past
    )
    sent.clear()  # the two binds queued on saving
    # when
    jobs.sweep()
    # then
    assert sorted(sent) == sorted(
        [
            ("bind_binding_task", (pending.pk,), {}),
            ("create_bindings_bulk_task", (bulk.pk,), {}),
            ("validate_number_import_task", (validating.pk,), {}),
            ("import_numbers_task", (importing.pk,), {}),
            ("reconcile_bindings_task", (axb.pk, [1, 2]), {"run_id": run.pk}),
            ("reconcile_bill_task", (bill.pk,), {}),
        ]
    )
    # each got a new lease: the next sweep sends nothing
    sent.clear()
    jobs.sweep()
    assert sent == []
    assert Binding.objects.get(pk=fresh.pk).lease_until > timezone.now()
    assert done.pk not in [job for _name, args, _kw in sent for job in args]


def test_a_binding_saved_while_the_broker_is_down_is_bound_once_it_is_back(
    platform, client, make_user, clean_broker
):
    # given
    axb = application(platform)
    # (a transactional test: the roles of the data migrations may have been flushed)
    user = make_user("kefu")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["add_binding", "view_binding"])
    )
    client.force_login(user)
    url = reverse("bindings:add") + f"?application={axb.pk}"
    form = {"a_number": "138 0000 0001", "b_number": "139 0000 0001", "area_code": "0755"}
    # when the binding is saved while nothing listens where the broker should be
    with broker_at(BROKER_DOWN):
        response = client.post(url, form, follow=True)
    # then the page says so (no 500), and the binding waits, its lease already run out
    assert response.status_code == 200
    page = response.content.decode()
    assert "task queue cannot be reached" in page or "任务队列" in page
    binding = Binding.objects.get()
    assert binding.status == BindingStatus.PENDING
    assert binding.lease_until <= timezone.now()
    # when the broker is back, the sweeper sends it and a worker binds it, once
    assert jobs.sweep()["binding"] == 1
    recovered(30, lambda: Binding.objects.get().status == BindingStatus.ACTIVE)
    binding.refresh_from_db()
    assert binding.lease_until is None
    assert [row["subscriptionId"] for row in platform.control.bindings(APP_KEYS["AXB"])] == [
        binding.subscription_id
    ]
    assert PlatformCall.objects.filter(interface="axb_bind").count() == 1


# --- a worker killed in the middle of everything ------------------------------------------------

LATENCY_MS = 4000  # the platform takes this long to answer: requests are in flight when killed


def csv_of(numbers: list[str], city: str = "0755") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "city_code"])
    writer.writerows([number, city] for number in numbers)
    return out.getvalue().encode()


def locked_rows(rows: list[tuple[str, int]]) -> psycopg.Connection:
    """Another session holding row locks on ``(table, id)``: the worker's tasks that need those
    rows wait on them, in the middle of their work, until the locks go."""
    lock = psycopg.connect(database_url())
    for table, pk in rows:
        lock.execute(
            psycopg.sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(
                psycopg.sql.Identifier(table)
            ),
            [pk],
        )
    return lock


def hourly_bill(moment: datetime) -> bytes:
    """A bill of one hour of this month that nothing here matches (one difference)."""
    hour = timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)
    return f"消费时间,使用量,应付金额\n{hour:%Y-%m-%d %H:%M:%S} GMT+08:00,7,0.84\n".encode()


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_mid_task_leaves_no_job_stuck_and_none_done_twice(
    platform, worker_process, clean_broker, storage, make_user
):
    # given one job of every kind, each queued for the worker
    axb = application(platform)
    control = platform.control

    def bound(a: str, b: str, **data) -> Binding:
        binding = services.create_binding(axb, {"a_number": a, "b_number": b, **data})
        services.bind(binding.pk)  # in this process, before the worker runs
        binding.refresh_from_db()
        assert binding.status == BindingStatus.ACTIVE
        return binding

    app.control.purge()  # the binds of bound() were also queued: they are done already
    to_end = bound("+8613800000002", "+8613900000002")
    to_modify = bound("+8613800000003", "+8613900000003")
    recorded = bound("+8613800000004", "+8613900000004", record_flag=True)
    cdr = control.place_call(recorded.a_number, recorded.x_number, "answered", duration=20)["cdr"]
    app.control.purge()
    to_bind = services.create_binding(
        axb, {"a_number": "+8613800000001", "b_number": "+8613900000001", "area_code": "0755"}
    )
    services.end_binding(to_end)
    services.modify_binding(to_modify, {"max_duration": 5})
    numbers = list(XNumber.objects.filter(application=axb, city_code="0755")[:3])
    run = services.start_reconcile(axb, [n.pk for n in numbers])
    rows = "".join(f"+86138100{i:05d},+86139100{i:05d},020\n" for i in range(20))
    bulk = services.start_bulk_create(axb, "twenty.csv", "a_number,b_number,area_code\n" + rows)
    validating = services.start_number_import(
        axb, "new.csv", "csv", csv_of([f"+86171500{i:05d}" for i in range(300)])
    )
    importing = services.start_number_import(
        axb, "more.csv", "csv", csv_of([f"+86171600{i:05d}" for i in range(300)])
    )
    services.validate_number_import(importing.pk)  # previewed here; its queued pass does nothing
    importing.refresh_from_db()
    assert services.confirm_number_import(importing, user=make_user("boss", is_superuser=True))
    billing_services.ingest_cdrs(axb, [FeeInfo.model_validate(cdr)])
    recording = Recording.objects.get()
    bill = reconcile.start(timezone.now(), "bill.csv", "csv", hourly_bill(timezone.now()))
    # the platform answers slowly, and three jobs find their rows locked
    for interface in ("axb.bind", "axb.unbind", "axb.modify", "axb.query", "record.url"):
        control.set_faults(interface, latency_ms=LATENCY_MS)
    lock = locked_rows(
        [
            ("bindings_bulkjob", bulk.pk),
            ("bindings_numberimport", validating.pk),
            ("bindings_numberimport", importing.pk),
            ("billing_billreconciliation", bill.pk),
        ]
    )
    # when a worker takes all of them, and is killed with SIGKILL in their middle
    worker_process.start(concurrency=9)  # one task of each job at once
    wait_until(
        lambda: (
            Binding.objects.get(pk=to_bind.pk).bind_attempts == 1
            and Recording.objects.get(pk=recording.pk).state == RecordingState.FETCHING
            and waiting_on_locks() >= 4
            and broker_redis().hlen("unacked") >= 8
        ),
        timeout=60,
        interval=0.1,
    )
    time.sleep(0.5)  # the platform calls are on their way
    worker_process.kill()
    lock.rollback()
    lock.close()
    # then, once the platform has done what it was asked, every job is stuck
    wait_until(lambda: len(on_platform(platform, Binding.objects.get(pk=to_bind.pk))) == 1, 15)
    to_bind.refresh_from_db()
    assert (to_bind.status, to_bind.bind_attempts) == (BindingStatus.PENDING, 1)  # landed
    assert Binding.objects.get(pk=to_end.pk).status == BindingStatus.ENDING
    assert Binding.objects.get(pk=to_modify.pk).pending_changes == {"max_duration": 5}
    assert Reconciliation.objects.get(pk=run.pk).finished_at is None
    assert BulkJob.objects.get(pk=bulk.pk).status != BulkJobStatus.DONE
    assert NumberImport.objects.get(pk=validating.pk).state != NumberImportState.PREVIEWED
    assert NumberImport.objects.get(pk=importing.pk).state == NumberImportState.IMPORTING
    assert not XNumber.objects.filter(number__startswith="+86171600").exists()
    assert Recording.objects.get(pk=recording.pk).state == RecordingState.FETCHING
    assert BillReconciliation.objects.get(pk=bill.pk).state != ReconciliationState.DONE
    # when the sweeper finds them, the platform is quick again, and a worker runs (the sweeper
    # is told it is later; a fetch's claim must really have run out to be taken over)
    wait_until(lambda: Recording.objects.get(pk=recording.pk).lease_until < timezone.now(), 10)
    control.clear_faults()
    swept = jobs.sweep(now=timezone.now() + LATER)
    assert swept == {
        "webhook": 0,  # no subscription here: no delivery waits
        "binding": 3,
        "bulk": 1,
        "number_import": 2,
        "reconciliation": 1,
        "recording": 1,
        "bill_reconciliation": 1,
    }

    def where_they_stand() -> dict[str, object]:
        return {
            "leased bindings": list(
                Binding.objects.filter(lease_until__isnull=False).values_list("pk", "status")
            ),
            "bulk": BulkJob.objects.get(pk=bulk.pk).status,
            "bulk bindings active": Binding.objects.filter(
                bulk_job=bulk, status=BindingStatus.ACTIVE
            ).count(),
            "reconciled": Reconciliation.objects.get(pk=run.pk).finished_at is not None,
            "validated": NumberImport.objects.get(pk=validating.pk).state,
            "imported": NumberImport.objects.get(pk=importing.pk).state,
            "recording": Recording.objects.get(pk=recording.pk).state,
            "bill": BillReconciliation.objects.get(pk=bill.pk).state,
        }

    done = {
        "leased bindings": [],
        "bulk": BulkJobStatus.DONE,
        "bulk bindings active": 20,
        "reconciled": True,
        "validated": NumberImportState.PREVIEWED,
        "imported": NumberImportState.DONE,
        "recording": RecordingState.STORED,
        "bill": ReconciliationState.DONE,
    }
    recovered(90, lambda: where_they_stand() == done, where_they_stand)
    # then each job finished exactly once
    to_bind.refresh_from_db()
    assert to_bind.status == BindingStatus.ACTIVE
    (landed,) = on_platform(platform, to_bind)  # adopted, never bound a second time
    assert landed["subscriptionId"] == to_bind.subscription_id
    assert PlatformCall.objects.filter(binding=to_bind, interface="axb_bind").count() == 0
    assert PlatformCall.objects.filter(binding=to_bind, interface="axb_query").exists()
    assert Binding.objects.get(pk=to_end.pk).status == BindingStatus.ENDED
    assert on_platform(platform, to_end) == []
    modified = Binding.objects.get(pk=to_modify.pk)
    assert (modified.max_duration, modified.pending_changes) == (5, {})
    assert Reconciliation.objects.get(pk=run.pk).numbers_checked == 3
    bulk.refresh_from_db()
    assert (bulk.created, bulk.failed, bulk.processed) == (20, 0, 20)
    bulk_numbers = set(Binding.objects.filter(bulk_job=bulk).values_list("a_number", flat=True))
    assert len(bulk_numbers) == 20
    bulk_on_platform = [row["a"] for row in control.bindings(APP_KEYS["AXB"])]
    assert sorted(a for a in bulk_on_platform if a in bulk_numbers) == sorted(bulk_numbers)
    assert NumberImport.objects.get(pk=validating.pk).new_count == 300
    assert XNumber.objects.filter(number__startswith="+86171600").count() == 300
    assert NumberImport.objects.get(pk=importing.pk).imported_count == 300
    stored = list((storage / "media").rglob("*.wav"))
    assert len(stored) == 1
    bill.refresh_from_db()  # its differences written once (the one hour billed here, at least)
    assert bill.differences.count() == bill.difference_count >= 1
