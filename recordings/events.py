"""The webhook events of recordings, written in the transaction that changes the recording."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from console import webhooks
from recordings.models import Recording

EVENTS = {
    "recording.stored": gettext_noop("A call's recording was fetched and stored"),
    "recording.lost": gettext_noop("A recording expired on the platform before it was fetched"),
    "recording.at_risk": gettext_noop(
        "A recording is not stored yet and its deadline on the platform is near"
    ),
}


def announce(recording_id: int, event_type: str, *, subscribed: bool | None = None) -> int:
    """One event about a recording, in the caller's transaction; returns the deliveries written.

    ``subscribed``: the caller asked ``webhooks.has_subscribers`` for the recording's
    application already (True: not asked twice), as ``bindings.events.announce`` takes it.
    """
    if subscribed is False:
        return 0
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
    if row is None:
        return 0
    if subscribed is None and not webhooks.has_subscribers(row["application_id"]):
        return 0
    application_id = row.pop("application_id")
    row["deadline"] = row["deadline"].isoformat() if row["deadline"] else None
    row["duration"] = float(row["duration"]) if row["duration"] is not None else None
    return webhooks.emit(application_id, event_type, row)


def announce_at_risk(recordings: list[Recording]) -> int:
    """``recording.at_risk``, one per recording, in the transaction that marks them alerted."""
    if not recordings or not webhooks.has_subscribers():
        return 0
    return webhooks.emit_many(
        (
            recording.application_id,
            "recording.at_risk",
            {
                "id": recording.pk,
                "call_record_id": recording.call_record_id,
                "state": recording.state,
                "deadline": recording.deadline.isoformat(),
                "attempts": recording.attempts,
                "last_error_code": recording.last_error_code,
            },
        )
        for recording in recordings
    )
