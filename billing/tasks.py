"""Thin Celery tasks of billing (beat jobs); the work is in ``billing.services``."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask

from billing import health, history, reconcile, services, settlement

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True)
def close_statements_task() -> None:
    """Hourly: close last month's statements once due; keep this month's open ones current."""
    closed = services.close_statements()
    if closed:
        logger.info("closed statements %s", closed)


@shared_task(ignore_result=True, acks_late=True)
def maintain_history_task() -> None:
    """Beat (daily): the coming months' partitions, then the history retention
    (billing.history)."""
    history.maintain()


@shared_task(ignore_result=True, acks_late=True)
def refresh_call_stats_task() -> None:
    """Every minute: rebuild the dashboard's hourly totals of hours that got new CDRs."""
    services.refresh_call_stats()


@shared_task(ignore_result=True, acks_late=True)
def settle_hours_task() -> None:
    """Every few minutes: settle the hours that are over (packages first); check the packages."""
    settlement.settle_due_hours()


@shared_task(ignore_result=True, acks_late=True)
def assess_recent_numbers_task() -> None:
    """Every minute: the health figures of the X numbers of applications that got CDRs; rests."""
    health.assess_recent()


@shared_task(ignore_result=True, acks_late=True)
def assess_all_numbers_task() -> None:
    """Every ten minutes: every application's X numbers assessed (rests that ended, alerts
    resolved, CDRs the minute job's cursor passed by)."""
    health.assess_all()


class ReconciliationTask(DjangoTask):
    """A reconciliation that stops on an unexpected error marks its job failed, so that its page
    says so instead of waiting for ever (a worker that dies is the sweeper's: ``billing.jobs``)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if args:
            reconcile.abandon(args[0], exc)


@shared_task(base=ReconciliationTask, acks_late=True, ignore_result=True)
def reconcile_bill_task(job_id: int) -> None:
    """Read an uploaded bill and compare it with the console's figures; safe to run twice."""
    reconcile.run(job_id)
