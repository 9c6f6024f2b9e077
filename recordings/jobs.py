"""Recordings whose fetching worker died, for the sweeper and "retry now" (console.jobs).

A fetch holds its recording under a lease renewed while the file streams in (services.fetch); once
the lease ran out, any worker may claim the recording again. The sweeper and the beat job that
re-queues recordings (services.requeue_due) put it back to pending as they send it, so neither
sends it again while its task waits; a fetch sent twice anyway is harmless: only one claim wins.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console import jobs
from recordings.choices import RecordingState
from recordings.models import Recording


def requeue(recording: Recording) -> bool:
    """Send a fetch whose claim ran out again, once: it goes back to pending (compare-and-set on
    the lease it was found with), so the next sweep does not find it stuck again while its task
    waits in the queue, and the beat re-queue leaves it its grace."""
    from recordings.tasks import fetch_recording_task

    grace = timedelta(seconds=settings.RECORDINGS_REQUEUE_GRACE_SECONDS)
    moved = Recording.objects.filter(
        pk=recording.pk, state=RecordingState.FETCHING, lease_until=recording.lease_until
    ).update(
        state=RecordingState.PENDING,
        claim_token="",
        lease_until=None,
        next_attempt_at=timezone.now() + grace,
    )
    return bool(moved) and jobs.send(fetch_recording_task, recording.pk)


def register() -> None:
    """Called from ``RecordingsConfig.ready()``."""
    jobs.register(
        jobs.JobKind(
            name="recording",
            label=_("Recordings being fetched"),
            stuck=lambda now: Recording.objects.filter(
                state=RecordingState.FETCHING, lease_until__lt=now, deadline__gt=now
            ).order_by("deadline", "id"),
            requeue=requeue,
            permission="recordings.change_recording",
            url=lambda recording: reverse("admin:recordings_recording_change", args=[recording.pk]),
        )
    )
