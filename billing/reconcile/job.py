"""The reconciliation job: started from the upload, run by a worker under a lease, its
differences stored in one transaction, its progress polled by the page."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing.choices import DifferenceKind, ReconciliationState
from billing.models import BillDifference, BillReconciliation
from billing.reconcile import reading
from billing.reconcile.comparing import Comparison, compare
from billing.reconcile.reading import Bill, BillRefused
from billing.services import month_start
from console import alerts, audit, jobs
from console.choices import AlertKind, AuditAction
from console.models import Application

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------------

RUNNING = (ReconciliationState.QUEUED, ReconciliationState.READING, ReconciliationState.COMPARING)
FINISHED = (ReconciliationState.DONE, ReconciliationState.FAILED)


def start(
    month: date,
    file_name: str,
    file_format: str,
    content: bytes,
    *,
    application: Application | None = None,
    user=None,
    language: str = "",
    request=None,
) -> BillReconciliation:
    """Keep an uploaded bill and queue its reconciliation; refuses a file it can never read."""
    from billing.tasks import reconcile_bill_task

    if user is not None and not user.has_perm("billing.add_billreconciliation"):
        raise PermissionDenied
    reading.check_file(file_format, file_name, content)
    with transaction.atomic():
        job = BillReconciliation.objects.create(
            month=month_start(month),
            application=application,
            file_name=file_name[:200],
            file_format=file_format.lower(),
            source=content,
            language=language[:16],
            created_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.IMPORT,
            job,
            user=user,
            request=request,
            details={"bill": job.file_name, "month": f"{job.month:%Y-%m}", "bytes": len(content)},
        )
        jobs.send_on_commit(
            reconcile_bill_task, job.pk, job=BillReconciliation.objects.filter(pk=job.pk)
        )
    return job


def _progress(job_id: int, state: str):
    def publish(count: int) -> None:
        BillReconciliation.objects.filter(pk=job_id, state=state).update(
            processed_rows=count, lease_until=jobs.lease()
        )

    return publish


def run(job_id: int) -> BillReconciliation | None:
    """Read the bill, compare it, store the differences: the worker's job. From the start each
    time it runs (a redelivered task, the sweeper), so twice gives the same result."""
    claimed = BillReconciliation.objects.filter(pk=job_id, state__in=RUNNING).update(
        state=ReconciliationState.READING, processed_rows=0, lease_until=jobs.lease()
    )
    job = BillReconciliation.objects.select_related("application").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            bill = reading.read_bill(
                job, bytes(job.source), _progress(job.pk, ReconciliationState.READING)
            )
        except BillRefused as refusal:
            fail(job.pk, refusal.message)
            job.refresh_from_db()
            return job
        BillReconciliation.objects.filter(pk=job.pk).update(
            state=ReconciliationState.COMPARING,
            total_rows=bill.rows,
            processed_rows=0,
            lease_until=jobs.lease(),
        )
        comparison = compare(job, bill, _progress(job.pk, ReconciliationState.COMPARING))
        _store(job, bill, comparison)
    job.refresh_from_db()
    return job


def _store(job: BillReconciliation, bill: Bill, comparison: Comparison) -> None:
    unpushed = comparison.counts.get(DifferenceKind.UNPUSHED, 0)
    with transaction.atomic():
        locked = BillReconciliation.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.state != ReconciliationState.COMPARING:
            return  # another run finished it meanwhile
        BillDifference.objects.filter(reconciliation=job).delete()
        for difference in comparison.differences:
            difference.reconciliation = job
        BillDifference.objects.bulk_create(comparison.differences, batch_size=1000)
        BillReconciliation.objects.filter(pk=job.pk).update(
            state=ReconciliationState.DONE,
            total_rows=bill.rows,
            processed_rows=bill.rows,
            skipped_rows=bill.skipped + bill.other_month,
            billed_calls=comparison.billed_calls,
            billed_minutes=comparison.billed_minutes,
            billed_amount=comparison.billed_amount,
            our_minutes=comparison.our_minutes,
            our_amount=comparison.our_amount,
            difference_count=sum(comparison.counts.values()),
            unpushed_count=unpushed,
            unpushed_minutes=comparison.unpushed_minutes,
            unpushed_amount=comparison.unpushed_amount,
            error="",
            source=b"",  # the company's bill is not kept past its use; the figures stay
            lease_until=None,
            finished_at=timezone.now(),
        )
        key = f"bill:{job.month:%Y-%m}:{job.application_id or 'all'}"
        if unpushed:
            alerts.raise_alert(
                AlertKind.UNPUSHED_CDRS,
                key,
                application=job.application,
                title=gettext_noop(
                    "%(count)s call(s) Huawei billed in %(month)s never reached the console"
                ),
                detail=gettext_noop(
                    "The bill charges %(minutes)s minutes, %(amount)s CNY, for calls whose call "
                    "records were never pushed to the console. Check the CDR push address on the "
                    "platform and the inbox of pushes; the reconciliation lists the calls."
                ),
                params={
                    "count": unpushed,
                    "month": f"{job.month:%Y-%m}",
                    "minutes": comparison.unpushed_minutes,
                    "amount": str(comparison.unpushed_amount),
                    "reconciliation": job.pk,
                },
            )
        else:
            alerts.resolve_alert(AlertKind.UNPUSHED_CDRS, key)


def fail(job_id: int, message: str) -> None:
    BillReconciliation.objects.filter(pk=job_id, state__in=RUNNING).update(
        state=ReconciliationState.FAILED,
        error=message,
        lease_until=None,
        finished_at=timezone.now(),
    )


def abandon(job_id: int, error: BaseException) -> None:
    """A run that stopped on an unexpected error: the job fails, saying so."""
    job = BillReconciliation.objects.filter(pk=job_id).only("language").first()
    if job is None:
        return
    with translation.override(job.language or settings.LANGUAGE_CODE):
        fail(job_id, _("The bill could not be compared: %(error)s") % {"error": error})


def progress(job: BillReconciliation) -> dict[str, Any]:
    """What the page shows while it waits, and polls."""
    return {
        "id": job.pk,
        "state": job.state,
        "state_display": job.get_state_display(),
        "processed": job.processed_rows,
        "total": job.total_rows,
        "finished": job.state in FINISHED,
        "error": job.error,
        "differences": job.difference_count,
        "unpushed": job.unpushed_count,
    }
