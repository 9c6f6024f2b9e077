"""The audit log as a hash chain: a deleted or edited row shows (issue 17).

Rows are written by ``console.audit.record`` as before, in the transaction of the action they
record, with no lock: chaining them there would serialise every audited action in the console.
Instead beat's sealer (:func:`seal`, every minute) gives each new row the next place in the chain
(``sealed_seq``) and ``chain_hash = sha256(previous hash + the row's canonical content)``, in the
order the rows became visible. A row that commits late is sealed at the next run, at a later place:
none is skipped. The sealer holds the lock of the one :class:`~console.models.AuditChainAnchor`
row, so two sealers never interleave.

:func:`verify` walks the chain from the anchor and reports the first place where it breaks: a
missing place (a deleted row) or a hash that does not match (an edited row, or a forged hash).
:func:`expire` is the audit log's own retention (``AUDIT_RETENTION_DAYS``): it deletes the oldest
sealed rows and moves the anchor past them in the same transaction, so the rest still verifies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from console.models import AuditChainAnchor, AuditLog

SEAL_BATCH = 5000
_FIELDS = (
    "pk",
    "at",
    "user_id",
    "username",
    "ip_address",
    "action",
    "target_type_id",
    "target_id",
    "target_repr",
    "details",
)


def canonical(row: AuditLog) -> bytes:
    """What the hash covers: every field a person reads, in a fixed form."""
    values = [getattr(row, name) for name in _FIELDS]
    values[1] = row.at.astimezone(UTC).isoformat()
    text = json.dumps(
        values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return text.encode()


def link(previous: str, row: AuditLog) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + canonical(row)).hexdigest()


def _anchor() -> AuditChainAnchor:
    anchor = AuditChainAnchor.objects.select_for_update().order_by("pk").first()
    if anchor is None:
        AuditChainAnchor.objects.create()
        anchor = AuditChainAnchor.objects.select_for_update().order_by("pk").first()
    return anchor


def _head(anchor: AuditChainAnchor) -> tuple[int, str]:
    last = (
        AuditLog.objects.filter(sealed_seq__isnull=False)
        .order_by("-sealed_seq")
        .values_list("sealed_seq", "chain_hash")
        .first()
    )
    return last or (anchor.last_deleted_seq, anchor.last_deleted_hash)


def seal() -> int:
    """Chain every row not sealed yet, oldest first; how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            anchor = _anchor()
            seq, previous = _head(anchor)
            rows = list(
                AuditLog.objects.filter(sealed_seq__isnull=True).order_by("pk")[:SEAL_BATCH]
            )
            for row in rows:
                seq += 1
                previous = link(previous, row)
                row.sealed_seq, row.chain_hash = seq, previous
            AuditLog.objects.bulk_update(rows, ["sealed_seq", "chain_hash"])
        sealed += len(rows)
        if len(rows) < SEAL_BATCH:
            return sealed


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_at: int | None = None  # the place in the chain where it breaks
    reason: str = ""


def verify() -> Verdict:
    """Walk the sealed rows in chain order from the anchor."""
    anchor = AuditChainAnchor.objects.order_by("pk").first()
    seq = anchor.last_deleted_seq if anchor else 0
    previous = anchor.last_deleted_hash if anchor else ""
    checked = 0
    rows = AuditLog.objects.filter(sealed_seq__isnull=False).order_by("sealed_seq")
    for row in rows.iterator(chunk_size=SEAL_BATCH):
        if row.sealed_seq != seq + 1:
            return Verdict(False, checked, seq + 1, gettext_noop("a row is missing (deleted)"))
        expected = link(previous, row)
        if row.chain_hash != expected:
            return Verdict(False, checked, row.sealed_seq, gettext_noop("a row was changed"))
        seq, previous = row.sealed_seq, row.chain_hash
        checked += 1
    return Verdict(True, checked)


def expire(*, now: datetime | None = None) -> int:
    """Delete sealed rows older than ``AUDIT_RETENTION_DAYS`` (0: keep forever), oldest first,
    moving the anchor past them in the same transaction."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        with transaction.atomic():
            anchor = _anchor()
            rows = list(
                AuditLog.objects.filter(
                    sealed_seq__isnull=False,
                    sealed_seq__gt=anchor.last_deleted_seq,
                    at__lt=cutoff,
                )
                .order_by("sealed_seq")
                .values_list("pk", "sealed_seq", "chain_hash")[:SEAL_BATCH]
            )
            # Only a run of places from the anchor on: a young row in between stops the deletion
            # there (the chain must stay contiguous from the anchor).
            run = []
            for pk, seq, chain_hash in rows:
                if seq != anchor.last_deleted_seq + len(run) + 1:
                    break
                run.append((pk, seq, chain_hash))
            if not run:
                return deleted
            AuditLog.objects.filter(pk__in=[pk for pk, _seq, _hash in run]).delete()
            anchor.last_deleted_seq, anchor.last_deleted_hash = run[-1][1], run[-1][2]
            anchor.save(update_fields=["last_deleted_seq", "last_deleted_hash"])
        deleted += len(run)
        if len(run) < SEAL_BATCH:
            return deleted
