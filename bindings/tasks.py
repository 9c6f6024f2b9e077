"""Thin Celery tasks of bindings: each takes ids, calls one service and is safe to run twice.

Platform tasks retry transient failures (timeouts, connection errors, 5xx, flow control) with
exponential backoff and jitter; when the retries are used up a bind is adopted if it landed after
all, else marked failed. While an application's platform calls are paused (the platform locked the
console out, ``console.gateway``), a task sends nothing and re-queues itself for later, spending
none of its retries. ``acks_late``: a worker that dies mid-task leaves the message to another
one, which is safe because every service checks the binding's status first and asks the platform
before sending a bind again.

Each task the services queue is connected to its slot of :mod:`bindings.services.work` where it
is declared: the services never import this module (``BindingsConfig.ready()`` does).
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from bindings import forecast, modes, services
from bindings.models import Reconciliation, XNumber
from bindings.services import work
from console.gateway import ApplicationPaused
from console.models import Application
from privatenumber.errors import PlatformError, PlatformTransientError

logger = logging.getLogger(__name__)

RETRYING = {
    "autoretry_for": (PlatformTransientError,),
    "retry_backoff": settings.BINDINGS_RETRY_BACKOFF,
    "retry_backoff_max": settings.BINDINGS_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.BINDINGS_TASK_MAX_RETRIES,
    "acks_late": True,
    "ignore_result": True,
}


class PlatformTask(DjangoTask):
    """A task that calls the platform: while its application is paused it comes back later.

    The re-queued message is a new one (its retries start again), so a long pause never uses up
    the retries that real failures need; the task is safe to run twice anyway.
    """

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except ApplicationPaused as paused:
            logger.info(
                "%s%s: application %s is paused; again in %s s",
                self.name,
                args,
                paused.application_id,
                settings.PLATFORM_PAUSED_RECHECK_SECONDS,
            )
            self.apply_async(args, kwargs, countdown=settings.PLATFORM_PAUSED_RECHECK_SECONDS)
            return None


class BindingTask(PlatformTask):
    """A task for one binding: a retry put off by its backoff keeps the binding's lease for the
    longest wait, so that the sweeper does not send it meanwhile."""

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        if args:
            services.hold(
                args[0], settings.BINDINGS_RETRY_BACKOFF_MAX + settings.JOBS_LEASE_SECONDS
            )


class BindTask(BindingTask):
    """Marks the binding failed (or adopts it) once the retries are used up."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, PlatformError) and args:
            services.abandon_bind(args[0], exc)


@work.BIND.connect
@shared_task(base=BindTask, **RETRYING)
def bind_binding_task(binding_id: int) -> None:
    services.bind(binding_id)


@work.MODIFY.connect
@shared_task(base=BindingTask, **RETRYING)
def modify_binding_task(binding_id: int) -> None:
    services.apply_modification(binding_id)


@work.UNBIND.connect
@shared_task(base=BindingTask, **RETRYING)
def unbind_binding_task(binding_id: int) -> None:
    services.unbind(binding_id)


@work.SYNC.connect
@shared_task(base=PlatformTask, **RETRYING)
def sync_binding_task(binding_id: int) -> None:
    services.sync_binding(binding_id)


@shared_task(base=PlatformTask, **RETRYING)
def count_axe_bindings_task(application_id: int) -> None:
    """Ask the platform for the AXE binding count of every X of one application."""
    counted = Application.objects.filter(mode__in=modes.PLATFORM_COUNTS)
    application = counted.filter(pk=application_id).first()
    if application is not None:
        services.count_axe_bindings(application)


@shared_task(acks_late=True, ignore_result=True)
def expire_bindings_task() -> None:
    """Beat: end what is due (set-based), unbind console-side expiries, end cooldowns."""
    services.expire_due()


@work.RECONCILE.connect
@shared_task(acks_late=True, ignore_result=True)
def reconcile_bindings_task(
    application_id: int, number_ids: list[int] | None = None, run_id: int | None = None
) -> None:
    """Compare one application's bindings (on some numbers, or all) with the platform's.

    ``run_id``: the reconciliation a person started (its page shows the progress).
    """
    application = Application.objects.filter(pk=application_id).first()
    if application is None:
        return
    run = Reconciliation.objects.filter(pk=run_id).first() if run_id is not None else None
    if run_id is not None and run is None:
        return
    numbers = XNumber.objects.filter(pk__in=number_ids) if number_ids is not None else None
    services.reconcile(application, numbers=numbers, run=run)


@shared_task(ignore_result=True)
def reconcile_applications_task() -> None:
    """Beat: one reconciliation task per active application that has bindings."""
    active = Application.objects.filter(is_active=True, calls_paused_at__isnull=True)
    for application_id in active.filter(mode__in=modes.NAMES).values_list("pk", flat=True):
        reconcile_bindings_task.delay(application_id)


@work.BULK_CREATE.connect
@shared_task(acks_late=True, ignore_result=True)
def create_bindings_bulk_task(job_id: int) -> None:
    services.run_bulk_create(job_id)


class NumberImportTask(DjangoTask):
    """An import task that stops on an unexpected error marks its job failed, so that the job's
    page says so instead of waiting for ever (a worker that dies is another matter: ``acks_late``
    gives the message to another worker, which runs the pass again)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if args:
            services.abandon_number_import(args[0], exc)


@work.VALIDATE_IMPORT.connect
@shared_task(base=NumberImportTask, acks_late=True, ignore_result=True)
def validate_number_import_task(job_id: int) -> None:
    """The preview of an X-number import (a dry run, nothing written); safe to run twice."""
    services.validate_number_import(job_id)


@work.IMPORT_NUMBERS.connect
@shared_task(base=NumberImportTask, acks_late=True, ignore_result=True)
def import_numbers_task(job_id: int) -> None:
    """The confirmed import: one transaction that also marks the job done, so never twice."""
    services.run_number_import(job_id)


@shared_task(ignore_result=True, acks_late=True)
def forecast_pools_task() -> None:
    """Hourly: a ``pool_low`` alert for each pool that will not last its application's horizon."""
    forecast.check_pools()
