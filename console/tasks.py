"""Thin Celery tasks of the console package."""

from __future__ import annotations

from celery import shared_task

from console import health, jobs


@shared_task(ignore_result=True)
def record_worker_heartbeat_task() -> None:
    """Beat runs this every 30 s; /healthz reads the time a worker last ran it."""
    health.record_worker_heartbeat()


@shared_task(ignore_result=True)
def demo_traffic_task() -> None:
    """Demo only (DEMO_TRAFFIC): beat places a few calls on the simulator every minute."""
    from django.conf import settings

    from console import demo

    if settings.DEMO_TRAFFIC:
        demo.place_demo_calls()


@shared_task(ignore_result=True)
def sweep_jobs_task() -> None:
    """Beat: send again the task of every job whose lease ran out (console.jobs)."""
    jobs.sweep()
