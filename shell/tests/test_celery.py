"""A real worker on the real broker runs tasks queued with delay_on_commit only after commit."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from celery import shared_task
from django.conf import settings
from django.db import transaction

from console.testing import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@shared_task
def remember_token_task(token: str) -> None:
    """Leave a mark in Redis that the test can look for."""
    _redis().set(f"test:celery:{token}", "ran", ex=60)


class Rollback(Exception):
    pass


def test_it_runs_a_task_queued_on_commit_after_the_commit_and_not_before(celery_worker):
    # given
    token = uuid.uuid4().hex
    key = f"test:celery:{token}"
    # when
    with transaction.atomic():
        remember_token_task.delay_on_commit(token)
        time.sleep(1.5)  # a worker that got the message now would have run it by now
        # then
        assert not _redis().exists(key), "the task ran before the transaction committed"
    wait_until(lambda: _redis().exists(key), timeout=15)


def test_it_never_runs_a_task_whose_transaction_rolled_back(celery_worker):
    # given
    token = uuid.uuid4().hex
    # when
    try:
        with transaction.atomic():
            remember_token_task.delay_on_commit(token)
            raise Rollback
    except Rollback:
        pass
    # then: a task queued in the same way afterwards runs, and the rolled-back one never did
    later = uuid.uuid4().hex
    with transaction.atomic():
        remember_token_task.delay_on_commit(later)
    wait_until(lambda: _redis().exists(f"test:celery:{later}"), timeout=15)
    assert not _redis().exists(f"test:celery:{token}")


@shared_task
def remember_backend_task(token: str) -> None:
    """Leave the PostgreSQL backend pid of the worker's connection in Redis."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        _redis().set(f"test:celery:{token}", cursor.fetchone()[0], ex=60)


def _backend_of_a_task() -> int:
    token = uuid.uuid4().hex
    remember_backend_task.delay(token)
    wait_until(lambda: _redis().exists(f"test:celery:{token}"), timeout=15)
    return int(_redis().get(f"test:celery:{token}"))


def test_a_worker_keeps_its_database_connection_from_one_task_to_the_next(celery_worker):
    # Celery's Django fixup closes connections around every task unless CELERY_DB_REUSE_MAX is
    # set; a new PostgreSQL backend per task cost more than the tasks' own queries.
    first = _backend_of_a_task()
    assert _backend_of_a_task() == first


def test_a_worker_replaces_a_connection_the_database_dropped(celery_worker):
    # given: the backend serving the worker is terminated between two tasks
    first = _backend_of_a_task()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    # then: one task may fail on the dead connection, the next ones run on a new backend
    remember_backend_task.delay(uuid.uuid4().hex)
    time.sleep(0.5)
    assert _backend_of_a_task() != first


def test_no_message_is_lost_with_its_worker_and_none_is_handed_out_while_it_runs():
    """acks_late and reject_on_worker_lost for every task; Redis hands an unacknowledged
    message to another worker only after the longest a task may run or wait for a retry; the
    sweeper's lease is shorter, so a dead worker's jobs are found by it first (console.jobs)."""
    from shell.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    longest_wait = max(
        settings.CELERY_TASK_TIME_LIMIT,
        settings.BINDINGS_RETRY_BACKOFF_MAX,
        settings.RECORDINGS_RETRY_BACKOFF_MAX,
    )
    assert visibility > longest_wait
    assert visibility > settings.JOBS_LEASE_SECONDS
    assert "sweep-jobs" in settings.CELERY_BEAT_SCHEDULE
