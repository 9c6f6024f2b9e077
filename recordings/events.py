"""The webhook events of recordings, written in the transaction that changes the recording."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from console import webhooks
from recordings.models import Recording

EVENTS = {
    "recording.stored": gettext_noop("A call's recording was fetched and stored"),
    "recording.lost": gettext_noop("A recording expired on the platform before it was fetched"),
}


def announce(recording_id: int, event_type: str) -> int:
    row = (
        Recording.objects.filter(pk=recording_id)
        .values(
            "id",
            "application_id",
            "call_record_id",
            "state",
            "size",
            "sha256",
            "duration",
            "deadline",
            "last_error_code",
        )
        .first()
    )
    if row is None or not webhooks.has_subscribers(row["application_id"]):
        return 0
    application_id = row.pop("application_id")
    row["deadline"] = row["deadline"].isoformat() if row["deadline"] else None
    row["duration"] = float(row["duration"]) if row["duration"] is not None else None
    return webhooks.emit(application_id, event_type, row)
