"""Hooks into billing (recordings depend on billing, never the reverse)."""

from __future__ import annotations

from recordings import services, tasks
from recordings.choices import RecordingState


def create_recordings(sender, application, call_records, **kwargs) -> None:
    """``billing.signals.cdrs_ingested``: a Recording per recorded CDR, fetched after commit.

    Runs inside the ingest transaction: the rows commit or roll back with the CDRs, and the tasks
    are queued only once they are committed.
    """
    for recording in services.create_for_call_records(application, call_records):
        if recording.state == RecordingState.PENDING:
            tasks.fetch_recording_task.delay_on_commit(recording.pk)
