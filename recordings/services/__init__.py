"""The verbs of recordings: create them from CDRs, fetch them, re-queue, expire, alert, purge.

Life of a recording (docs/recordings.md):

* :func:`create_for_call_records` (the ``cdrs_ingested`` receiver) adds one row per recorded CDR,
  with its deadline: the CDR push + ``RECORDING_RETENTION_SECONDS`` (7 days).
* :func:`fetch` claims the row (a conditional UPDATE; it acts only if that returned 1), asks the
  platform for the download address (the 301 ``Location``), streams the file into the spool
  directory (resuming with HTTP Range), checks it is a WAV as long as the call, stores it and
  marks it ``stored`` only if it still holds the claim.
* Beat: :func:`requeue_due` (earliest deadline first), :func:`expire_overdue`,
  :func:`raise_alerts` (once per recording) and :func:`purge_stored` (local retention).

One module per part, all re-exported here (``from recordings import services``):
``creation``, ``fetching``, ``beat`` and ``actions`` (people's).
"""

from __future__ import annotations

from recordings.services.actions import (
    record_playback,
    retry_now,
)
from recordings.services.beat import (
    BANNER_CACHE_KEY,
    BANNER_CACHE_SECONDS,
    at_risk,
    at_risk_count,
    banner_count,
    purge_stored,
    raise_alerts,
    requeue_due,
)
from recordings.services.creation import (
    create_for_call_records,
    deadline_for,
    expected_seconds,
)
from recordings.services.fetching import (
    MISSING_CODES,
    LeaseLost,
    RecordingTransientError,
    download_policy,
    expire_overdue,
    explain,
    fetch,
    give_up,
    max_bytes,
    platform_client,
)

__all__ = [
    "BANNER_CACHE_KEY",
    "BANNER_CACHE_SECONDS",
    "MISSING_CODES",
    "LeaseLost",
    "RecordingTransientError",
    "at_risk",
    "at_risk_count",
    "banner_count",
    "create_for_call_records",
    "deadline_for",
    "download_policy",
    "expected_seconds",
    "expire_overdue",
    "explain",
    "fetch",
    "give_up",
    "max_bytes",
    "platform_client",
    "purge_stored",
    "raise_alerts",
    "record_playback",
    "requeue_due",
    "retry_now",
]
