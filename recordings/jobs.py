"""Recordings whose fetching worker died, for the sweeper and "retry now" (console.jobs).

A fetch holds its recording under a lease renewed while the file streams in (services.fetch); once
the lease ran out, any worker may claim the recording again, and the beat job that re-queues
recordings (services.requeue_due) sends them too. Sending a fetch twice is harmless: only one
claim wins.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from console import jobs
from recordings.choices import RecordingState
from recordings.models import Recording


def requeue(recording: Recording) -> bool:
    from recordings.tasks import fetch_recording_task

    return jobs.send(fetch_recording_task, recording.pk)


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
