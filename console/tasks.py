"""Thin Celery tasks of the console package."""

from __future__ import annotations

from celery import shared_task

from console import health, hooks, inbox, jobs


@shared_task(ignore_result=True)
def record_worker_heartbeat_task() -> None:
    """Beat runs this every 30 s; /healthz reads the time a worker last ran it."""
    health.record_worker_heartbeat()


@shared_task(ignore_result=True)
def corroborate_held_pushes_task() -> None:
    """Beat: judge the held pushes again (what vouches for them may have arrived since), after
    putting the headers of those held while the replay store was down into it."""
    hooks.remember_held_headers()
    inbox.corroborate_held()


@shared_task(ignore_result=True)
def sweep_jobs_task() -> None:
    """Beat: send again the task of every job whose lease ran out (console.jobs)."""
    jobs.sweep()


@shared_task(ignore_result=True)
def deliver_webhook_task(delivery_id: int) -> None:
    """Send one webhook delivery once (console.webhooks); it schedules its own retry."""
    from console import webhooks

    webhooks.deliver(delivery_id)
