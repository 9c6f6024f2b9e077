"""Thin Celery tasks of the console package."""

from __future__ import annotations

from celery import shared_task

from console import health


@shared_task(ignore_result=True)
def record_worker_heartbeat_task() -> None:
    """Beat runs this every 30 s; /healthz reads the time a worker last ran it."""
    health.record_worker_heartbeat()
