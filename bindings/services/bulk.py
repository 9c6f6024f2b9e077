"""Bindings from a CSV: one binding per row, by a task that saves its progress and can resume.

The columns a mode's file may have are its create form's fields (the mode table's
``bulk_columns``); each row goes through that form and :func:`~bindings.services.create_binding`.
Refusals are written in the uploader's language. Only the uploader and administrators follow a
job (:func:`may_follow_bulk_job`).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bindings import modes, uploads
from bindings.choices import BindingStatus, BulkJobStatus
from bindings.forms import bulk_row_data, form_for_mode
from bindings.models import BulkJob
from bindings.services import work
from bindings.services.base import BindingRefused
from bindings.services.create import create_binding
from console import audit, jobs
from console.choices import AuditAction
from console.models import Application


def start_bulk_create(
    application: Application,
    file_name: str,
    text: str,
    *,
    user=None,
    request=None,
    language: str = "",
) -> BulkJob:
    """Store an uploaded CSV and queue the task that creates its bindings.

    The refusals of its rows are written in ``language`` (the uploader's).
    """
    rows = bulk_rows(text)
    if not rows:
        raise BindingRefused(_("The file has no rows under its header."), rule="bulk_empty")
    if len(rows) > settings.BINDINGS_BULK_MAX_ROWS:
        raise BindingRefused(
            _("The file has %(n)s rows; at most %(max)s are accepted at a time.")
            % {"n": len(rows), "max": settings.BINDINGS_BULK_MAX_ROWS},
            rule="bulk_too_big",
        )
    allowed = modes.of(application.mode).bulk_columns
    columns = {name.strip() for name in rows[0] if name}
    expected = set(allowed)
    unknown = sorted(columns - expected)
    if unknown:
        raise BindingRefused(
            _("Unknown columns for %(mode)s: %(columns)s. Allowed: %(allowed)s.")
            % {
                "mode": application.mode,
                "columns": ", ".join(unknown),
                "allowed": ", ".join(allowed),
            },
            rule="bulk_columns",
        )
    with transaction.atomic():
        job = BulkJob.objects.create(
            application=application,
            file_name=file_name[:200],
            source=text,
            total=len(rows),
            language=language[:16],
            created_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.IMPORT,
            job,
            user=user,
            request=request,
            details={"rows": len(rows), "file": file_name[:200]},
        )
        work.BULK_CREATE.send_on_commit(job.pk, job=BulkJob.objects.filter(pk=job.pk))
    return job


def bulk_rows(text: str) -> list[dict[str, Any]]:
    """The rows of a bulk CSV under its header, or :class:`BindingRefused` naming the limit of
    ``bindings.uploads`` the file passed (rows counting blank ones, columns, cell length)."""
    try:
        for _row in uploads.csv_rows(text, uploads.Limits.bulk_bind()):
            pass
    except uploads.UploadRefused as refusal:
        raise BindingRefused(refusal.message, rule="bulk_limit") from None
    return list(csv.DictReader(io.StringIO(text)))


def run_bulk_create(job_id: int) -> BulkJob | None:
    """Create the bindings of a bulk upload row by row, saving progress as it goes.

    Resumable: a redelivered task skips the rows already done (``bulk_job`` + ``bulk_row`` is
    unique), so no row is ever created twice.
    """
    claimed = BulkJob.objects.filter(
        pk=job_id, status__in=[BulkJobStatus.QUEUED, BulkJobStatus.RUNNING]
    ).update(status=BulkJobStatus.RUNNING, lease_until=jobs.lease())
    job = BulkJob.objects.select_related("application", "created_by").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            rows = bulk_rows(job.source)  # the worker checks the stored file again
        except BindingRefused as refusal:
            BulkJob.objects.filter(pk=job.pk).update(
                status=BulkJobStatus.FAILED,
                errors=[{"row": 0, "message": refusal.message}],
                finished_at=timezone.now(),
                lease_until=None,
            )
            job.refresh_from_db()
            return job
    form_class = form_for_mode(job.application.mode)
    done_rows = set(job.bindings.values_list("bulk_row", flat=True))
    errors = list(job.errors)
    failed_rows = {e["row"] for e in errors}
    counters = {"processed": job.processed, "created": len(done_rows), "failed": len(failed_rows)}

    def save(final: bool = False) -> None:
        fields: dict[str, Any] = {**counters, "errors": errors[:1000], "lease_until": jobs.lease()}
        if final:
            fields.update(status=BulkJobStatus.DONE, finished_at=timezone.now(), lease_until=None)
        BulkJob.objects.filter(pk=job.pk).update(**fields)

    with translation.override(job.language or settings.LANGUAGE_CODE):
        _bulk_rows(job, rows, form_class, done_rows, failed_rows, errors, counters, save)
    counters["processed"] = counters["created"] + counters["failed"]
    save(final=True)
    job.refresh_from_db()
    return job


def _bulk_rows(job, rows, form_class, done_rows, failed_rows, errors, counters, save) -> None:
    """The rows of a bulk upload not done yet, one binding each; refusals in ``errors``."""
    application = job.application
    last_save = timezone.now()
    for row_number, row in enumerate(rows, start=2):
        if row_number in done_rows or row_number in failed_rows:
            continue
        form = form_class(
            data=bulk_row_data(application.mode, row), application=application, city_choices=False
        )
        try:
            if not form.is_valid():
                raise BindingRefused(_form_errors(form), rule="bulk_row")
            create_binding(
                application,
                form.cleaned_data,
                user=job.created_by,
                bulk_job=job,
                bulk_row=row_number,
            )
            counters["created"] += 1
        except BindingRefused as refusal:
            counters["failed"] += 1
            errors.append({"row": row_number, "message": refusal.message})
        except IntegrityError:
            pass  # created by an earlier run of this task
        counters["processed"] = counters["created"] + counters["failed"]
        if (timezone.now() - last_save).total_seconds() >= 0.5:
            save()
            last_save = timezone.now()


def _form_errors(form) -> str:
    parts = []
    for field, messages in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        text = "; ".join(str(m) for m in messages)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


def may_follow_bulk_job(user, job: BulkJob) -> bool:
    """Only the person who uploaded a bulk job, or an administrator (``bindings.view_bulkjob``),
    sees its progress and its refused rows (they carry the rows' real numbers)."""
    return bool(
        user is not None
        and user.is_active
        and (
            (job.created_by_id is not None and job.created_by_id == user.pk)
            or user.has_perm("bindings.view_bulkjob")
        )
    )


def bulk_progress(job: BulkJob) -> dict[str, Any]:
    """What the progress page shows: rows done, and where the created bindings stand."""
    by_status = dict(
        job.bindings.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "total": job.total,
        "processed": job.processed,
        "created": job.created,
        "failed": job.failed,
        "bindings": {status: by_status.get(status, 0) for status in BindingStatus.values},
        "errors": job.errors[-50:],
        "finished": job.status in (BulkJobStatus.DONE, BulkJobStatus.FAILED),
    }
