"""Hooks into billing (recordings depend on billing, never the reverse)."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from recordings import services, storage, tasks
from recordings.choices import RecordingState
from recordings.models import Recording

# Recordings let go of per transaction when their calls' months are dropped.
FORGET_BATCH = 1000


def create_recordings(sender, application, call_records, recorded=None, **kwargs) -> None:
    """``billing.signals.cdrs_ingested``: a Recording per recorded CDR, fetched after commit.

    Runs inside the ingest transaction: the rows commit or roll back with the CDRs, and the fetch
    tasks are queued only once they are committed, by one callback per push (one broker
    connection for all of them, not one callback per recording). Queueing is ``robust``: a broker
    that cannot be reached is logged and never fails the CDR push (beat queues the recordings
    later). A batch with no recorded call (``recorded`` 0) is left unread.
    """
    if recorded == 0:
        return
    pending = [
        recording.pk
        for recording in services.create_for_call_records(application, call_records)
        if recording.state == RecordingState.PENDING
    ]
    if pending:
        transaction.on_commit(partial(tasks.queue_fetches, pending), robust=True)


def forget_recordings(sender, before, **kwargs) -> int:
    """``billing.signals.history_dropping``: the recordings of the calls that started before
    ``before`` go with their CDRs, files first (from storage), then the rows; a batch per
    transaction, under the rows' locks so a fetch cannot store a file meanwhile. How many went."""
    gone = 0
    while True:
        with transaction.atomic():
            rows = list(
                Recording.objects.select_for_update()
                .filter(call_started_at__lt=before)
                .values_list("pk", "file")[:FORGET_BATCH]
            )
            if not rows:
                return gone
            for _pk, name in rows:
                if name:
                    storage.delete(name)
            gone += Recording.objects.filter(pk__in=[pk for pk, _name in rows]).delete()[0]
