"""The bindings app's jobs that wait on a worker, for the sweeper and "retry now" (console.jobs).

* a binding with something to do on the platform: its bind (``pending``), its changes
  (``pending_changes``) or its unbind (``ending``): the task that fits its state is sent again,
  and a bind asks the platform first whether an earlier attempt landed;
* a bulk upload queued or running: resumed where it stopped (no row is created twice);
* an X-number import queued, validating or importing: the pass is run again (an import is one
  transaction: a worker that died left nothing imported);
* a reconciliation not finished: run again from its start.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bindings.choices import BindingStatus, BulkJobStatus, NumberImportState
from bindings.models import Binding, BulkJob, NumberImport, Reconciliation
from console import jobs


def _expired(queryset, now):
    return queryset.filter(lease_until__lt=now).order_by("lease_until")


def requeue_binding(binding: Binding) -> bool:
    from bindings import tasks

    job = Binding.objects.filter(pk=binding.pk)
    if binding.status == BindingStatus.PENDING:
        task = tasks.bind_binding_task
    elif binding.status == BindingStatus.ENDING:
        task = tasks.unbind_binding_task
    elif binding.status == BindingStatus.ACTIVE and binding.pending_changes:
        task = tasks.modify_binding_task
    else:  # nothing waits on a worker any more
        job.filter(lease_until=binding.lease_until).update(lease_until=None)
        return False
    return jobs.renew(binding) and jobs.send(task, binding.pk, job=job)


def requeue_bulk_job(job: BulkJob) -> bool:
    from bindings.tasks import create_bindings_bulk_task

    queryset = BulkJob.objects.filter(pk=job.pk)
    return jobs.renew(job) and jobs.send(create_bindings_bulk_task, job.pk, job=queryset)


def requeue_number_import(job: NumberImport) -> bool:
    from bindings.tasks import import_numbers_task, validate_number_import_task

    importing = job.state == NumberImportState.IMPORTING
    task = import_numbers_task if importing else validate_number_import_task
    queryset = NumberImport.objects.filter(pk=job.pk)
    return jobs.renew(job) and jobs.send(task, job.pk, job=queryset)


def requeue_reconciliation(run: Reconciliation) -> bool:
    from bindings.tasks import reconcile_bindings_task

    queryset = Reconciliation.objects.filter(pk=run.pk)
    numbers = run.details.get("number_ids")
    return jobs.renew(run) and jobs.send(
        reconcile_bindings_task, run.application_id, numbers, run_id=run.pk, job=queryset
    )


def register() -> None:
    """Called from ``BindingsConfig.ready()``."""
    jobs.register(
        jobs.JobKind(
            name="binding",
            label=_("Bindings waiting for the platform"),
            stuck=lambda now: _expired(Binding.objects.select_related("application"), now),
            requeue=requeue_binding,
            permission="bindings.change_binding",
            describe=lambda b: f"{b} · {b.get_status_display()}",
            url=lambda b: reverse("bindings:binding", args=[b.pk]),
        )
    )
    jobs.register(
        jobs.JobKind(
            name="bulk",
            label=_("Bulk uploads"),
            stuck=lambda now: _expired(
                BulkJob.objects.filter(
                    status__in=[BulkJobStatus.QUEUED, BulkJobStatus.RUNNING]
                ).defer("source", "errors"),
                now,
            ),
            requeue=requeue_bulk_job,
            permission="bindings.view_bulkjob",
            url=lambda job: reverse("bindings:bulk-job", args=[job.pk]),
        )
    )
    jobs.register(
        jobs.JobKind(
            name="number_import",
            label=_("X-number imports"),
            stuck=lambda now: _expired(
                NumberImport.objects.filter(
                    state__in=[
                        NumberImportState.QUEUED,
                        NumberImportState.VALIDATING,
                        NumberImportState.IMPORTING,
                    ]
                ).defer("source", "errors"),
                now,
            ),
            requeue=requeue_number_import,
            permission="bindings.add_xnumber",
            describe=lambda job: f"{job} · {job.get_state_display()}",
            url=lambda job: reverse("bindings:import-job", args=[job.pk]),
        )
    )
    jobs.register(
        jobs.JobKind(
            name="reconciliation",
            label=_("Reconciliations"),
            stuck=lambda now: _expired(
                Reconciliation.objects.filter(finished_at__isnull=True).select_related(
                    "application"
                ),
                now,
            ),
            requeue=requeue_reconciliation,
            permission="bindings.change_xnumber",
            url=lambda run: reverse("bindings:reconciliation", args=[run.pk]),
        )
    )
