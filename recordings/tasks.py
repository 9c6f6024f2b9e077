"""Thin Celery tasks of recordings: each takes ids, calls one service and is safe to run twice.

``fetch_recording_task`` may run twice for the same recording (beat re-queues, a worker that died
has its message redelivered): the service claims the row with a conditional UPDATE and does
nothing unless it won the claim. Transient failures (connection, 5xx, flow control) are retried
with exponential backoff and jitter; when the retries are used up the recording is ``failed`` and
beat tries it again later, until its deadline.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from recordings import services
from recordings.services import RecordingTransientError


class FetchTask(DjangoTask):
    """Marks the recording failed (for beat to retry later) once the retries are used up."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Any failure: give_up only touches a recording still pending (released by the service).
        if args:
            services.give_up(args[0])


@shared_task(
    base=FetchTask,  # its queue: CELERY_TASK_ROUTES (RECORDINGS_QUEUE)
    autoretry_for=(RecordingTransientError,),
    retry_backoff=settings.RECORDINGS_RETRY_BACKOFF,
    retry_backoff_max=settings.RECORDINGS_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.RECORDINGS_TASK_MAX_RETRIES,
    acks_late=True,
    ignore_result=True,
)
def fetch_recording_task(recording_id: int) -> None:
    services.fetch(recording_id)


def queue_fetches(recording_ids: Iterable[int]) -> None:
    """One ``fetch_recording_task`` per recording, all sent on one broker connection."""
    with fetch_recording_task.app.producer_or_acquire() as producer:
        for recording_id in recording_ids:
            fetch_recording_task.apply_async((recording_id,), producer=producer)


@shared_task(ignore_result=True)
def requeue_recordings_task() -> None:
    """Beat: expire the overdue, then queue what is due, earliest deadline first."""
    for recording_id in services.requeue_due():
        fetch_recording_task.delay(recording_id)


@shared_task(ignore_result=True)
def alert_recordings_at_risk_task() -> None:
    """Beat: one alert for the recordings that have just come near their deadline unstored."""
    services.raise_alerts()


@shared_task(ignore_result=True)
def purge_stored_recordings_task() -> None:
    """Beat: delete stored copies past ``RECORDINGS_LOCAL_RETENTION_DAYS`` (audited)."""
    services.purge_stored()
