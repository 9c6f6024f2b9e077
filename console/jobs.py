"""Nothing waits on a worker for ever: leases, robust queueing, the sweeper, "retry now".

Every job state that waits on a worker (a binding pending, ending or with changes for the
platform; a bulk upload, an X-number import, a reconciliation; a recording being fetched) carries a
lease: ``lease_until``, set when its task is queued and renewed by the worker while it works. A
job whose lease ran out was lost: its message never reached the broker (the broker was down when
it was saved), or its worker died (kill -9, a lost machine) and Redis keeps the message unacked
until its visibility timeout. The sweeper (beat, every ``JOBS_SWEEP_EVERY_SECONDS``) sends the
task of each such job again. Tasks are safe to run twice: each claims its row before acting, and
a bind asks the platform whether an earlier attempt landed before it sends another
(``bindings.services.bind``), so nothing is done twice.

The apps register their kinds of job in ``AppConfig.ready()`` (:func:`register`); this module
knows none of them. Administrators see the stuck ones on ``/jobs/stuck/`` and retry them at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError

    return (OperationalError, ConnectionError, OSError, TimeoutError)


# Tasks of the current request that could not be queued (QueueWatchMiddleware tells the person).
_unsent: ContextVar[list[str] | None] = ContextVar("console_jobs_unsent", default=None)


def lease(seconds: float | None = None, *, now: datetime | None = None) -> datetime:
    """The end of a fresh lease (``JOBS_LEASE_SECONDS`` from now unless told)."""
    seconds = settings.JOBS_LEASE_SECONDS if seconds is None else seconds
    return (now or timezone.now()) + timedelta(seconds=seconds)


# The job's rows, or a function that gives them: built only if the broker cannot be reached (a
# queryset cost every binding created ~40 µs for nothing; issue 19).
Job = models.QuerySet | Callable[[], models.QuerySet]


def send(task, *args: Any, job: Job | None = None, **kwargs: Any) -> bool:
    """Queue ``task`` now. When the broker cannot be reached: log it, expire the lease of
    ``job`` (so the next sweep sends it once the broker is back) and answer False."""
    try:
        task.apply_async(args, kwargs)
    except _broker_errors() as error:
        logger.warning(
            "%s%s not queued (%s: %s); the sweeper sends it once the broker is back",
            task.name,
            args,
            type(error).__name__,
            error,
        )
        if job is not None:
            rows = job if isinstance(job, models.QuerySet) else job()
            rows.update(lease_until=timezone.now())
        unsent = _unsent.get()
        if unsent is not None:
            unsent.append(task.name)
        return False
    return True


def told() -> None:
    """The view told the person itself that the queue could not be reached."""
    unsent = _unsent.get()
    if unsent is not None:
        unsent.clear()


class QueueWatchMiddleware:
    """A request whose work could not be queued (the broker is down) gets a message that says
    so and that the work goes out on its own once the broker is back, instead of a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib import messages
        from django.utils.translation import gettext

        token = _unsent.set([])
        try:
            response = self.get_response(request)
            if _unsent.get() and hasattr(request, "_messages"):
                messages.warning(
                    request,
                    gettext(
                        "Saved. The task queue cannot be reached right now: the work is sent "
                        "to the workers on its own within %(minutes)s minutes of it coming back."
                    )
                    % {"minutes": max(1, settings.JOBS_SWEEP_EVERY_SECONDS // 60)},
                )
            return response
        finally:
            _unsent.reset(token)


@dataclass
class Sending:
    """A task queued after commit; ``queued`` is None until then, then True or False."""

    queued: bool | None = None


def send_on_commit(task, *args: Any, job: Job | None = None, **kwargs: Any) -> Sending:
    """:func:`send` once the current transaction commits (never a 500 after a commit)."""
    sending = Sending()

    def send_now() -> None:
        sending.queued = send(task, *args, job=job, **kwargs)

    transaction.on_commit(send_now)
    return sending


@dataclass(frozen=True)
class JobKind:
    """One kind of job that waits on a worker.

    ``stuck(now)`` are its jobs whose lease ran out; ``requeue(job)`` sends the job's task again
    (it renews the lease first); ``permission`` lets a person retry one now; ``describe`` and
    ``url`` say what a job is and where its page is.
    """

    name: str
    label: Any
    stuck: Callable[[datetime], models.QuerySet]
    requeue: Callable[[models.Model], bool]
    permission: str
    describe: Callable[[models.Model], str] = str
    url: Callable[[models.Model], str | None] = field(default=lambda job: None)


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    KINDS[kind.name] = kind


def renew(job: models.Model, *, seconds: float | None = None) -> bool:
    """Take over a job whose lease ran out: a new lease, if nobody renewed it meanwhile."""
    model = type(job)
    renewed = model.objects.filter(pk=job.pk, lease_until=job.lease_until).update(
        lease_until=lease(seconds)
    )
    return renewed == 1


def sweep(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Beat: send again every job whose lease ran out, at most ``limit`` of each kind."""
    now = now or timezone.now()
    limit = limit or settings.JOBS_SWEEP_BATCH
    sent: dict[str, int] = {}
    for kind in KINDS.values():
        count = 0
        for job in kind.stuck(now)[:limit]:
            if kind.requeue(job):
                count += 1
        if count:
            logger.warning(
                "sweeper: %d %s job(s) outlived their lease, sent again", count, kind.name
            )
        sent[kind.name] = count
    return sent


def stuck_jobs(
    user, *, now: datetime | None = None, limit: int = 100
) -> list[tuple[JobKind, list[models.Model]]]:
    """The stuck jobs of every kind ``user`` may retry, for the stuck jobs page."""
    now = now or timezone.now()
    return [
        (kind, list(kind.stuck(now)[:limit]))
        for kind in KINDS.values()
        if user.has_perm(kind.permission)
    ]


def may_retry(user) -> bool:
    """Whether ``user`` may retry some kind of stuck job (administrators)."""
    return any(user.has_perm(kind.permission) for kind in KINDS.values())


def stuck_count(user, *, now: datetime | None = None, cap: int = 100) -> int:
    """Stuck jobs ``user`` may retry, counted up to ``cap`` of each kind (never a whole table)."""
    now = now or timezone.now()
    return sum(
        kind.stuck(now)[:cap].count() for kind in KINDS.values() if user.has_perm(kind.permission)
    )


def retry_now(kind_name: str, job_id: int, *, user, request=None) -> bool:
    """A person sends a stuck job again at once (audited); False if it is not stuck any more."""
    from django.core.exceptions import PermissionDenied

    from console import audit
    from console.choices import AuditAction

    kind = KINDS.get(kind_name)
    if kind is None or not user.has_perm(kind.permission):
        raise PermissionDenied
    job = kind.stuck(timezone.now()).filter(pk=job_id).first()
    if job is None or not kind.requeue(job):
        return False
    audit.record(AuditAction.REPROCESS, job, user=user, request=request, details={"job": kind.name})
    return True
