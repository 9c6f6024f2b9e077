"""States of a recording and the codes of the reasons it was not stored."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordingState(models.TextChoices):
    """Life of a recording in the console (docs/recordings.md has the diagram).

    ``pending`` and ``failed`` are picked up again (by the task's own retries, then by beat) until
    the deadline; ``fetching`` is held by one worker under a lease; ``stored``, ``expired``,
    ``none_expected`` and ``deleted`` are final.
    """

    PENDING = "pending", _("Waiting to be fetched")
    FETCHING = "fetching", _("Being fetched")
    STORED = "stored", _("Stored")
    FAILED = "failed", _("Failed, will be tried again")
    EXPIRED = "expired", _("Expired on the platform")
    NONE_EXPECTED = "none_expected", _("No recording (call under 3 s)")
    DELETED = "deleted", _("Deleted after the retention period")


# States a worker may claim (a ``fetching`` row may also be claimed once its lease has run out).
CLAIMABLE_STATES = (RecordingState.PENDING, RecordingState.FAILED)
# States in which the recording is still wanted and not yet in storage.
OUTSTANDING_STATES = (RecordingState.PENDING, RecordingState.FETCHING, RecordingState.FAILED)


class FailureCode(models.TextChoices):
    """The console's own codes for why a fetch did not store a file.

    Platform refusals keep the platform's result code (``1012007`` …) or the client's own code
    (``TIMEOUT``, ``CONNECTION``, ``HTTP500`` …) instead; see :func:`recordings.services.explain`.
    """

    NOT_WAV = "NOT_WAV", _("The file is not a WAV recording")
    WRONG_LENGTH = "WRONG_LENGTH", _("The recording's length does not match the call's")
    TOO_LARGE = "TOO_LARGE", _("The file is far larger than the call could produce")
    INCOMPLETE = "INCOMPLETE", _("The download kept breaking off before the end of the file")
    DOWNLOAD_HTTP = "DOWNLOAD_HTTP", _("The file server refused the download")
    ADDRESS_REFUSED = (
        "ADDRESS_REFUSED",
        _(
            "The download address is not the platform's (refused: not a recording host, or a "
            "private address)"
        ),
    )
    GONE = "GONE", _("The platform no longer has the recording")
    NO_FILE = "NO_FILE", _("The CDR names no recording file")
    TOO_SHORT = "TOO_SHORT", _("The call was too short to be recorded")
    DEADLINE = "DEADLINE", _("Not stored before the platform deleted it")
    STORAGE = "STORAGE", _("The file could not be written to storage")
    RETRIES = "RETRIES", _("Retries used up; it will be tried again later")
