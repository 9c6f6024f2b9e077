"""Beat jobs run on a real worker and do their services' work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from billing.models import CallStat, CallStatCursor, SettledHour
from billing.tasks import (
    close_statements_task,
    maintain_history_task,
    refresh_call_stats_task,
    settle_hours_task,
)
from billing.tests.factories import fee
from console.testing import wait_until
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_the_beat_jobs_are_scheduled():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        refresh_call_stats_task.name,
        close_statements_task.name,
        settle_hours_task.name,
        maintain_history_task.name,
    } <= tasks


def test_the_history_job_makes_the_coming_months_on_a_worker(celery_worker):
    from django.db import connection

    from billing import history
    from console import partitions

    # given next month's partitions gone (as on an installation converted long ago)
    next_month = partitions.add_months(partitions.month_start(timezone.now()), 1)
    for table in history.TABLES:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table.spec.partition(next_month)}")
        assert next_month not in partitions.months(table.spec)
    # when
    maintain_history_task.delay()
    # then the worker made them again, for each table
    wait_until(
        lambda: all(next_month in partitions.months(t.spec) for t in history.TABLES), timeout=20
    )


def test_the_settlement_runs_on_a_worker(celery_worker):
    # given a 2-minute call that ended an hour and a half ago
    from billing import services

    application = ApplicationFactory()
    ended = timezone.now() - timedelta(minutes=90)
    body = fee(application, answered=ended - timedelta(seconds=90), talk=90)
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)], now=ended)
    # when
    settle_hours_task.delay()
    # then its hour is settled
    wait_until(lambda: SettledHour.objects.filter(application=application).exists(), timeout=20)
    assert SettledHour.objects.get(application=application).minutes == 2


def test_the_rollup_job_runs_on_a_worker(celery_worker):
    # given CDRs received two minutes ago
    from billing import services

    application = ApplicationFactory()
    received = timezone.now() - timedelta(minutes=2)
    services.ingest_cdrs(
        application,
        [FeeInfo.model_validate(fee(application, started=received)) for _ in range(3)],
        now=received,
    )
    # when
    refresh_call_stats_task.delay()
    # then
    wait_until(lambda: CallStatCursor.objects.filter(last_record_id__gt=0).exists(), timeout=20)
    assert sum(CallStat.objects.values_list("calls", flat=True)) == 3
