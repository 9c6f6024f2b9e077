"""Thin Celery tasks of the console package."""

from __future__ import annotations

import logging

from celery import shared_task

from console import access_requests, audit_chain, health, hooks, inbox, jobs, retention


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
def apply_retention_task() -> None:
    """Beat (hourly): delete or pseudonymise personal data past its policy (console.retention)."""
    retention.run()


@shared_task(ignore_result=True)
def seal_audit_log_task() -> None:
    """Beat (every minute): chain the new audit rows, then apply the audit log's retention."""
    audit_chain.seal()
    audit_chain.expire()


@shared_task(ignore_result=True, bind=True, max_retries=3)
def build_access_request_task(self, job_id: int) -> None:
    """Gather an access request's file (console.access_requests); a failure is shown on its page."""
    try:
        access_requests.build(job_id)
    except Exception as error:
        access_requests.fail(job_id, error)
        raise


@shared_task(ignore_result=True)
def deliver_webhook_task(delivery_ids: list[int] | int) -> None:
    """Send webhook deliveries once, one endpoint's batch (console.webhooks); a failure
    schedules its own retry. (A single id is what tasks queued before batching carry.)"""
    from console import webhooks

    webhooks.deliver_many([delivery_ids] if isinstance(delivery_ids, int) else delivery_ids)


@shared_task(ignore_result=True)
def mail_alert_task(alert_id: int) -> None:
    """E-mail an alert's opening or resolution (console.alerts); a failure is left to the
    sweeper (``mail_alerts_task``)."""
    from console import alerts

    try:
        alerts.mail(alert_id)
    except Exception as error:
        logging.getLogger(__name__).warning(
            "alert %s: e-mail failed (%s); mailed again later", alert_id, error
        )


@shared_task(ignore_result=True)
def mail_alerts_task() -> None:
    """Beat: e-mail the alerts whose opening or resolution was not e-mailed (console.alerts)."""
    from console import alerts

    alerts.mail_due()


@shared_task(ignore_result=True)
def watch_task() -> None:
    """Beat (every minute): the platform link, failed pushes, the workers' heartbeat
    (console.watch)."""
    from console import watch

    watch.run()
