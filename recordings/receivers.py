"""Hooks into billing (recordings depend on billing, never the reverse)."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from recordings import services, tasks
from recordings.choices import RecordingState


def create_recordings(sender, application, call_records, **kwargs) -> None:
    """``billing.signals.cdrs_ingested``: a Recording per recorded CDR, fetched after commit.

    Runs inside the ingest transaction: the rows commit or roll back with the CDRs, and the fetch
    tasks are queued only once they are committed, by one callback per push (one broker
    connection for all of them, not one callback per recording). Queueing is ``robust``: a broker
    that cannot be reached is logged and never fails the CDR push (beat queues the recordings
    later).
    """
    pending = [
        recording.pk
        for recording in services.create_for_call_records(application, call_records)
        if recording.state == RecordingState.PENDING
    ]
    if pending:
        transaction.on_commit(partial(tasks.queue_fetches, pending), robust=True)
