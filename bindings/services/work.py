"""The tasks the services queue, reached without importing ``bindings.tasks``.

``bindings.tasks`` (thin Celery wrappers) imports the services; the services never import it back.
Each kind of work a service queues is a :class:`Slot` here, and ``bindings.tasks`` connects its
task to it where the task is declared (``@work.BIND.connect``). ``BindingsConfig.ready()`` imports
``bindings.tasks`` in every process (web, worker, tests), so every slot is connected before the
first request. Queuing goes through ``console.jobs`` (after commit, never a 500 when the broker is
down).
"""

from __future__ import annotations

from typing import Any

from console import jobs


class Slot:
    """One kind of work the services queue, and the task that does it once connected."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.task: Any = None

    def connect(self, task):
        """Connect the task that does this work (usable as a decorator of the task)."""
        self.task = task
        return task

    def send_on_commit(
        self, *args: Any, job: jobs.Job | None = None, **kwargs: Any
    ) -> jobs.Sending:
        """Queue the task once the current transaction commits (``console.jobs``)."""
        if self.task is None:
            raise RuntimeError(f"no task is connected to {self.name!r}: is bindings.tasks loaded?")
        return jobs.send_on_commit(self.task, *args, job=job, **kwargs)

    def __repr__(self) -> str:
        return f"<work {self.name}: {getattr(self.task, 'name', None)}>"


BIND = Slot("bind a binding")
MODIFY = Slot("send a binding's changes")
UNBIND = Slot("unbind a binding")
SYNC = Slot("ask the platform about a binding")
RECONCILE = Slot("reconcile an application's bindings")
BULK_CREATE = Slot("create the bindings of a bulk upload")
VALIDATE_IMPORT = Slot("validate an X-number import")
IMPORT_NUMBERS = Slot("import the numbers of a confirmed import")
