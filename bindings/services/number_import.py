"""X numbers from CSV/XLSX (:class:`bindings.number_import.NumberImporter`), run by tasks.

:func:`start_number_import` refuses a bad file at once and queues the dry run
(:func:`validate_number_import`); a person confirms the preview (:func:`confirm_number_import`,
once); :func:`run_number_import` imports the new numbers in one transaction, every row checked
again. Progress goes through the cache (each pass runs in a transaction nobody else sees).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bindings import uploads
from bindings.choices import NumberImportState
from bindings.models import NumberImport
from bindings.number_import import NumberImporter, Refused
from bindings.services import work
from console import audit, jobs
from console.choices import AuditAction
from console.models import Application

logger = logging.getLogger(__name__)

IMPORT_FORMATS = ("csv", "xlsx")
IMPORT_COLUMNS = ("number", "city_code")
_IMPORT_RUNNING = (NumberImportState.VALIDATING, NumberImportState.IMPORTING)
_IMPORT_FINISHED = (NumberImportState.PREVIEWED, NumberImportState.DONE, NumberImportState.FAILED)


class ImportRefused(Exception):
    """An uploaded file that cannot be imported at all, with the reason in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_import_size(size: int) -> None:
    """Refuse a file over ``BINDINGS_IMPORT_MAX_BYTES``, before it is read."""
    try:
        uploads.check_size(size, uploads.Limits.number_import())
    except uploads.UploadRefused as refusal:
        raise ImportRefused(refusal.message) from None


def read_import_file(file_format: str, file_name: str, content: bytes):
    """The rows of an uploaded file as a ``tablib.Dataset``, or :class:`ImportRefused` saying why
    it cannot be imported: wrong format or extension, unreadable, past a limit of
    ``bindings.uploads`` (size, unpacked size, rows counting empty ones, cell length), no rows, a
    missing column. No row is validated here. Reading stops at the first limit passed, so the
    upload request, which calls it too, takes a bounded time (about 2 s for 50,000 XLSX rows);
    the worker calls it again on the stored file, under the same limits.
    """
    import tablib

    fmt = file_format.lower()
    if fmt not in IMPORT_FORMATS or not file_name.lower().endswith("." + fmt):
        raise ImportRefused(
            _("“%(name)s” is not a file of the chosen format (%(format)s).")
            % {"name": file_name, "format": fmt.upper()}
        )
    rows: list[list[Any]] = []
    try:
        lines = uploads.file_rows(fmt, content, uploads.Limits.number_import())
        headers = [str(h).strip() if h is not None else "" for h in next(lines, [])]
        width = len(headers)
        for line in lines:
            if any(v not in (None, "") for v in line):
                rows.append((list(line) + [None] * width)[:width])
    except uploads.UploadRefused as refusal:
        raise ImportRefused(refusal.message) from None
    except Exception as error:
        raise ImportRefused(
            _("The file could not be read as %(format)s: %(error)s")
            % {"format": fmt.upper(), "error": error}
        ) from error
    missing = [c for c in IMPORT_COLUMNS if c not in headers]
    if missing:
        raise ImportRefused(
            _("The file needs the columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    if not rows:
        raise ImportRefused(_("The file has no rows under its header."))
    return tablib.Dataset(*rows, headers=headers)


def start_number_import(
    application: Application,
    file_name: str,
    file_format: str,
    content: bytes,
    *,
    user=None,
    language: str = "",
) -> NumberImport:
    """Keep an uploaded file of X numbers and queue its validation; refuses a bad file at once."""
    dataset = read_import_file(file_format, file_name, content)
    with transaction.atomic():
        job = NumberImport.objects.create(
            application=application,
            file_name=file_name[:200],
            file_format=file_format.lower(),
            source=content,
            language=language[:16],
            total=len(dataset),
            created_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
        work.VALIDATE_IMPORT.send_on_commit(job.pk, job=NumberImport.objects.filter(pk=job.pk))
    return job


def _progress_key(job_id: int, state: str) -> str:
    return f"bindings:number-import:{job_id}:{state}"


def _publish_progress(job_id: int, state: str, rows: int) -> None:
    """Rows read so far, for the progress page. The import runs in one transaction, so the
    figure goes through the cache: a row of the job updated inside it would not be seen."""
    try:
        cache.set(_progress_key(job_id, state), rows, timeout=6 * 3600)
    except Exception:  # a progress figure never stops an import
        logger.warning("could not publish the progress of import %s", job_id, exc_info=True)


def _read_progress(job_id: int, state: str) -> int:
    try:
        return int(cache.get(_progress_key(job_id, state)) or 0)
    except Exception:
        return 0


def _refused_rows(dataset, refused: list[Refused]) -> list[dict[str, Any]]:
    """Each refused row (the first ``ERRORS_KEPT``): its number in the file, the values as typed,
    the reasons."""
    headers = dataset.headers
    rows = []
    for row in refused[: NumberImport.ERRORS_KEPT]:
        typed = dict(zip(headers, dataset[row.row - 1], strict=False))
        rows.append(
            {
                "row": row.row,
                "number": "" if typed.get("number") is None else str(typed["number"]),
                "city_code": "" if typed.get("city_code") is None else str(typed["city_code"]),
                "application": ""
                if typed.get("application") is None
                else str(typed["application"]),
                "message": row.message,
            }
        )
    return rows


def _conflict(error: IntegrityError) -> str:
    """A number of the file was added to a pool by someone else after the preview."""
    found = re.search(r"\(number\)=\(([^)]+)\)", str(error))
    return _(
        "Nothing was imported: %(number)s was added to a pool by someone else after the "
        "preview. Upload the file again to see which rows are left."
    ) % {"number": found.group(1) if found else _("a number of this file")}


def _importer(job: NumberImport) -> NumberImporter:
    return NumberImporter(
        job.application,
        progress=lambda rows: _publish_progress(job.pk, job.state, rows),
    )


def _fail_import(job_id: int, message: str) -> None:
    NumberImport.objects.filter(pk=job_id).update(
        state=NumberImportState.FAILED, error=message, finished_at=timezone.now(), lease_until=None
    )


def validate_number_import(job_id: int) -> NumberImport | None:
    """The dry run: every row checked, nothing written; the job then waits for a confirmation.

    Safe to run twice: a redelivered validation runs again from the start; once the job is
    previewed (or further) it is left alone.
    """
    claimed = NumberImport.objects.filter(
        pk=job_id, state__in=[NumberImportState.QUEUED, NumberImportState.VALIDATING]
    ).update(state=NumberImportState.VALIDATING, processed=0, lease_until=jobs.lease())
    job = NumberImport.objects.select_related("application").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            dataset = read_import_file(job.file_format, job.file_name, bytes(job.source))
        except ImportRefused as refusal:
            _fail_import(job.pk, refusal.message)
            return job
        _publish_progress(job.pk, job.state, 0)
        checked = _importer(job).check(dataset.headers, dataset)
        NumberImport.objects.filter(pk=job.pk, state=NumberImportState.VALIDATING).update(
            state=NumberImportState.PREVIEWED,
            lease_until=None,
            total=len(dataset),
            processed=len(dataset),
            new_count=len(checked.new),
            refused_count=len(checked.refused),
            errors=_refused_rows(dataset, checked.refused),
        )
    job.refresh_from_db()
    return job


def confirm_number_import(job: NumberImport, *, user, request=None) -> bool:
    """Queue the import of a previewed job, once: False if it was already confirmed, is not
    previewed, or has nothing to import (a double click confirms once)."""
    if not user.has_perm("bindings.add_xnumber"):
        raise PermissionDenied
    with transaction.atomic():
        claimed = NumberImport.objects.filter(
            pk=job.pk, state=NumberImportState.PREVIEWED, new_count__gt=0
        ).update(
            state=NumberImportState.IMPORTING,
            processed=0,
            confirmed_by=user,
            confirmed_at=timezone.now(),
            lease_until=jobs.lease(),
        )
        if not claimed:
            return False
        audit.record(
            AuditAction.IMPORT,
            job.application,
            user=user,
            request=request,
            details={
                "import": job.pk,
                "file": job.file_name,
                "rows": job.total,
                "new_numbers": job.new_count,
            },
        )
        work.IMPORT_NUMBERS.send_on_commit(job.pk, job=NumberImport.objects.filter(pk=job.pk))
    return True


def run_number_import(job_id: int) -> NumberImport | None:
    """Import a confirmed job's new numbers, every row checked again, in one transaction.

    Exactly once: the job's row is locked and the import commits together with the job's
    ``done``; a task delivered again finds it done and leaves it, and a worker that died midway
    left nothing behind. A number added elsewhere since the preview is refused on its row; one
    added at the very same moment trips the unique constraint and the job fails, importing
    nothing, with a message naming the number.
    """
    # The import is one transaction, whose progress nobody else sees: its lease covers the longest
    # a task may run (a worker that died leaves nothing imported, and the sweeper runs it again).
    NumberImport.objects.filter(pk=job_id, state=NumberImportState.IMPORTING).update(
        lease_until=jobs.lease(settings.CELERY_TASK_TIME_LIMIT + settings.JOBS_LEASE_SECONDS)
    )
    with transaction.atomic():
        job = (
            NumberImport.objects.select_for_update(of=("self",))
            .select_related("application")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.state != NumberImportState.IMPORTING:
            return job
        with translation.override(job.language or settings.LANGUAGE_CODE):
            job.finished_at = timezone.now()
            job.lease_until = None
            try:
                dataset = read_import_file(job.file_format, job.file_name, bytes(job.source))
            except ImportRefused as refusal:
                job.state, job.error = NumberImportState.FAILED, refusal.message
                job.save(update_fields=["state", "error", "finished_at", "lease_until"])
                return job
            _publish_progress(job.pk, job.state, 0)
            importer = _importer(job)
            checked = importer.check(dataset.headers, dataset)
            job.processed = len(dataset)
            try:
                with transaction.atomic():
                    imported = importer.write(checked)
            except IntegrityError as error:
                job.state, job.error = NumberImportState.FAILED, _conflict(error)
            else:
                job.state = NumberImportState.DONE
                # The numbers are in the pool now; the uploaded file (up to 10 MB, real data of
                # the company's) is not kept past its use. Name, counts and refusals stay.
                job.source = b""
                job.imported_count = imported
                job.refused_count = len(checked.refused)
                job.errors = _refused_rows(dataset, checked.refused)
            job.save(
                update_fields=[
                    "state",
                    "error",
                    "processed",
                    "imported_count",
                    "refused_count",
                    "errors",
                    "finished_at",
                    "source",
                    "lease_until",
                ]
            )
    return job


def abandon_number_import(job_id: int, error: BaseException) -> None:
    """A pass that stopped on an unexpected error: the job fails, saying so (nothing was imported:
    the import's transaction was rolled back)."""
    job = NumberImport.objects.filter(pk=job_id).only("language").first()
    if job is None:
        return
    with translation.override(job.language or settings.LANGUAGE_CODE):
        message = _("Nothing was imported: %(error)s") % {"error": error or type(error).__name__}
    NumberImport.objects.filter(pk=job_id, state__in=_IMPORT_RUNNING).update(
        state=NumberImportState.FAILED, error=message, finished_at=timezone.now(), lease_until=None
    )


def number_import_progress(job: NumberImport, *, with_rows: bool = True) -> dict[str, Any]:
    """What the import's page shows: the phase, rows read, the counts and, once a pass is over,
    the refused rows."""
    running = job.state in _IMPORT_RUNNING
    finished = job.state in _IMPORT_FINISHED
    return {
        "id": job.pk,
        "state": job.state,
        "state_display": job.get_state_display(),
        "total": job.total,
        "processed": _read_progress(job.pk, job.state) if running else job.processed,
        "new": job.new_count,
        "refused": job.refused_count,
        "imported": job.imported_count,
        "error": job.error,
        "finished": finished,
        "can_confirm": job.state == NumberImportState.PREVIEWED and job.new_count > 0,
        "errors": job.errors if finished and with_rows else [],
    }
