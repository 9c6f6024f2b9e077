"""What every verb of bindings shares: the console's refusal, loading a binding, its lease."""

from __future__ import annotations

from django.utils.translation import gettext as _

from bindings.models import Binding
from console import jobs, teams
from console.sql import CompiledQuery


class BindingRefused(Exception):
    """A request refused by the console before anything was sent to the platform.

    ``message`` says which rule refused it, in the active language; ``field`` names the form
    field at fault (None: the whole request); ``rule`` is a short stable key for tests and logs.
    """

    def __init__(self, message: str, *, rule: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


_LOAD = CompiledQuery(
    lambda pk: Binding._base_manager.select_related("application").filter(pk=pk).order_by()[:1],
    2_087_654_321,  # stands for the key while compiling (inside a key's integer range)
)


def load(binding_id: int) -> Binding | None:
    """A binding with its application, in one query.

    Every task on a binding starts here, so the query is compiled once per worker thread and run
    as a prepared statement (:class:`console.sql.CompiledQuery`): compiling its ~90 columns was a
    third of a bind's worker CPU (issue 19). Under a team's scope (a request) the scoped manager
    decides, as everywhere else.
    """
    if teams.scope() is not None:
        scoped = Binding.objects.select_related("application").filter(pk=binding_id)
        return scoped.order_by().first()
    return _LOAD.first(binding_id)


def hold(binding_id: int, seconds: float | None = None) -> None:
    """A worker works on this binding now: a fresh lease (``JOBS_LEASE_SECONDS``, or the longest
    wait before a retry when the task was put off)."""
    Binding.objects.filter(pk=binding_id, lease_until__isnull=False).update(
        lease_until=jobs.lease(seconds)
    )


def not_active(binding: Binding, verb: str = "changed") -> BindingRefused:
    """The refusal of a change to a binding that is not active (any more, or yet)."""
    if verb == "ended":
        return BindingRefused(
            _("Only active bindings can be ended; this one is %(status)s.")
            % {"status": binding.get_status_display()},
            rule="not_active",
        )
    return BindingRefused(
        _("Only active bindings can be changed; this one is %(status)s.")
        % {"status": binding.get_status_display()},
        rule="not_active",
    )
