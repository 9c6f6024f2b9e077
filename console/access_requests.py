"""Access requests (PIPL Art. 45): everything the console holds about one number, in one file.

An administrator asks for a number (:func:`start`): a row is written with the number encrypted
and a worker is queued. The worker (:func:`build`) asks every place of personal data registered
with ``console.retention`` for the rows that hold the number (live bindings included: they are
data too), writes them all to a ZIP (``data.json``: each place's rows with every field, and the
recordings' audio under ``recordings/``), and forgets the number. The page shows the progress;
the file is downloaded once (:func:`take`), then deleted. A worker that dies leaves its lease to
run out, and the sweeper builds the file again from the start (``console.jobs``).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console import audit, crypto, jobs, retention
from console.choices import AccessRequestState, AuditAction
from console.models import AccessRequest
from console.numbers import mask, normalize

RUNNING = (AccessRequestState.QUEUED, AccessRequestState.BUILDING)


def _task():
    from console.tasks import build_access_request_task

    return build_access_request_task


def start(number: str, *, user, request=None) -> AccessRequest:
    """A new request for ``number`` (raises InvalidNumber); its worker is queued after commit."""
    e164 = normalize(number)
    with transaction.atomic():
        job = AccessRequest.objects.create(
            number_encrypted=crypto.encrypt(e164),
            number_masked=mask(e164),
            requested_by=user,
            parts_total=len(retention.parts()),
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.CREATE,
            job,
            user=user,
            request=request,
            details={"what": "access request", "number": mask(e164)},
        )
        jobs.send_on_commit(_task(), job.pk, job=AccessRequest.objects.filter(pk=job.pk))
    return job


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Decimal):
        return str(value)
    return value


def build(job_id: int) -> AccessRequest | None:
    """Gather the file of a queued request (or one whose worker died); safe to run twice."""
    now = timezone.now()
    claimed = AccessRequest.objects.filter(pk=job_id, state__in=RUNNING).update(
        state=AccessRequestState.BUILDING, parts_done=0, lease_until=jobs.lease(now=now)
    )
    job = AccessRequest.objects.filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    forms = retention.variants(crypto.decrypt(job.number_encrypted))
    found: dict[str, list[dict[str, Any]]] = {}
    out = io.BytesIO()
    rows = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, part in enumerate(retention.parts(), start=1):
            ids = list(part.holding(forms).order_by("pk").values_list("pk", flat=True))
            values = part.model.objects.filter(pk__in=ids).order_by("pk").values()
            found[part.name] = [{k: _plain(v) for k, v in row.items()} for row in values]
            rows += len(found[part.name])
            if part.files is not None and ids:
                for name, chunks in part.files(ids):
                    with archive.open(name, "w") as target:
                        for chunk in chunks:
                            target.write(chunk)
            AccessRequest.objects.filter(pk=job.pk).update(
                parts_done=done, lease_until=jobs.lease()
            )
        summary = {
            "number": forms[0],
            "forms_searched": forms,
            "gathered_at": timezone.now().isoformat(),
            "places": {part.name: str(part.label) for part in retention.parts()},
            "rows": found,
        }
        archive.writestr(
            "data.json", json.dumps(summary, ensure_ascii=False, indent=1, default=str)
        )
    content = out.getvalue()
    AccessRequest.objects.filter(pk=job.pk, state=AccessRequestState.BUILDING).update(
        state=AccessRequestState.READY,
        content=content,
        size=len(content),
        rows=rows,
        number_encrypted="",
        finished_at=timezone.now(),
        lease_until=None,
    )
    job.refresh_from_db()
    return job


def fail(job_id: int, error: BaseException) -> None:
    AccessRequest.objects.filter(pk=job_id, state__in=RUNNING).update(
        state=AccessRequestState.FAILED,
        error=f"{type(error).__name__}: {error}"[:500],
        number_encrypted="",
        finished_at=timezone.now(),
        lease_until=None,
    )


def take(job: AccessRequest, *, user, request=None) -> bytes | None:
    """The file, once: the first caller gets its bytes and the row forgets them; None after."""
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.state != AccessRequestState.READY:
            return None
        content = bytes(locked.content)
        AccessRequest.objects.filter(pk=job.pk).update(
            state=AccessRequestState.DOWNLOADED, content=b"", downloaded_at=timezone.now()
        )
        audit.record(
            AuditAction.DOWNLOAD,
            locked,
            user=user,
            request=request,
            details={"what": "access request file", "bytes": len(content)},
        )
    return content


def register_job_kind() -> None:
    """Called from ``ConsoleConfig.ready()``: a lost worker's request is built again."""
    jobs.register(
        jobs.JobKind(
            name="access_request",
            label=_("Access requests being gathered"),
            stuck=lambda now: AccessRequest.objects.filter(
                state__in=RUNNING, lease_until__lt=now
            ).order_by("pk"),
            requeue=lambda job: jobs.renew(job) and jobs.send(_task(), job.pk),
            permission="console.erase_personal_data",
        )
    )
