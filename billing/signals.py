"""Signals billing sends, for the apps that depend on it (dependencies point one way).

``cdrs_ingested(sender=CallRecord, application=<Application>, call_records=[CallRecord, ...],
recorded=<int>)``
    Sent by :func:`billing.services.ingest_cdrs` *inside* the ingest transaction, once per batch,
    with the CallRecords that batch created (never the duplicates it skipped; an empty batch sends
    nothing). Receivers run in the same transaction: what they write commits or rolls back with
    the CDRs, and an exception a receiver raises fails the whole push (the platform retries it).
    ``call_records`` is a sequence whose instances are built when it is first read (its length is
    known without that): a receiver with nothing to do should return before reading it. The
    webhooks' ``call.completed`` reads it only for an application with webhooks on.
    ``recorded`` is how many of them are recorded calls (``record_flag == 1``); the recordings
    app listens to create its rows for those, and reads nothing when it is 0.
    Receivers must not make network calls; queue a task with ``delay_on_commit`` instead.

``history_dropping(sender=CallRecord, before=<aware datetime>)``
    Sent by :func:`billing.history.drop_history` outside any transaction, just before every CDR
    that started before ``before`` is removed (whole months, by the history retention). Receivers
    let go of what points at those CDRs (recordings deletes their recordings and files); one that
    raises stops the run before anything is dropped, and the next run sends it again.
"""

from __future__ import annotations

from django.dispatch import Signal

cdrs_ingested = Signal()
history_dropping = Signal()
