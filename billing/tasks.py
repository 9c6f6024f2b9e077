"""Thin Celery tasks of billing (beat jobs); the work is in ``billing.services``."""

from __future__ import annotations

import logging

from celery import shared_task

from billing import services, settlement

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True)
def close_statements_task() -> None:
    """Hourly: close last month's statements once due; keep this month's open ones current."""
    closed = services.close_statements()
    if closed:
        logger.info("closed statements %s", closed)


@shared_task(ignore_result=True, acks_late=True)
def refresh_call_stats_task() -> None:
    """Every minute: rebuild the dashboard's hourly totals of hours that got new CDRs."""
    services.refresh_call_stats()


@shared_task(ignore_result=True, acks_late=True)
def settle_hours_task() -> None:
    """Every few minutes: settle the hours that are over (packages first); check the packages."""
    settlement.settle_due_hours()
