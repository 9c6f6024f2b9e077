"""The verbs of bindings and X-number pools. All business logic of the app lives in this package.

Views, admin actions and tasks parse their input, call one verb and answer; they reach every verb
here (``from bindings import services``; ``services.bind(...)``). Platform calls are made outside
any database transaction (a slow platform must never hold a row lock), through
:func:`client_for` (the kernel's, ``console.gateway``), which writes a
:class:`~console.models.PlatformCall` row for every request.
What differs between the modes is read from the mode table (:mod:`bindings.modes`). The services
queue their tasks through :mod:`bindings.services.work` and never import ``bindings.tasks``.

One module per seam (docs/bindings.md has the long version):

* ``gateway``: the logged client, what a result code means;
* ``create``: :func:`create_binding` checks every capacity rule of spec §4, chooses X (and Y, and
  the AXE extension) from the pool under row locks, saves the binding ``pending``, queues the bind;
* ``binding``: :func:`bind` (a task) sends the bind once; before any further attempt it asks the
  platform whether an earlier one landed, so a binding is never made twice; :func:`abandon_bind`;
* ``lifecycle``: :func:`modify_binding` / :func:`apply_modification`, :func:`end_binding` /
  :func:`end_bindings` / :func:`unbind`, :func:`request_sync` / :func:`sync_binding`;
* ``calls``: :func:`set_temporary_callee` (AX), :func:`stop_call` (AXYB);
* ``reconciliation``: :func:`start_reconcile`, :func:`reconcile`, :func:`reconcile_progress`;
* ``pool_status``: :func:`apply_x_number_status` (the platform's X-number status pushes),
  :func:`retire_numbers` / :func:`reinstate_numbers`, :func:`count_axe_bindings`;
* ``reveal``: :func:`reveal_number`, audited;
* ``bulk``: bindings from a CSV, by a resumable task;
* ``number_import``: X numbers from CSV/XLSX, validated and imported by tasks;
* ``expiry``: :func:`expire_due` (beat) ends what is due in set-based statements.
"""

from __future__ import annotations

from bindings.services.base import BindingRefused, hold
from bindings.services.binding import abandon_bind, bind
from bindings.services.bulk import (
    bulk_progress,
    bulk_rows,
    may_follow_bulk_job,
    run_bulk_create,
    start_bulk_create,
)
from bindings.services.calls import TEMPORARY_CALLEE_MAX_SECONDS, set_temporary_callee, stop_call
from bindings.services.create import create_binding
from bindings.services.expiry import expire_due
from bindings.services.gateway import client_for, result_action, result_meaning
from bindings.services.lifecycle import (
    apply_modification,
    end_binding,
    end_bindings,
    modify_binding,
    request_sync,
    sync_binding,
    unbind,
)
from bindings.services.number_import import (
    IMPORT_COLUMNS,
    IMPORT_FORMATS,
    ImportRefused,
    abandon_number_import,
    check_import_size,
    confirm_number_import,
    number_import_progress,
    read_import_file,
    run_number_import,
    start_number_import,
    validate_number_import,
)
from bindings.services.pool_status import (
    apply_x_number_status,
    count_axe_bindings,
    reinstate_numbers,
    retire_numbers,
)
from bindings.services.reconciliation import reconcile, reconcile_progress, start_reconcile
from bindings.services.reveal import REVEALABLE, can_reveal, reveal_number

__all__ = [
    "IMPORT_COLUMNS",
    "IMPORT_FORMATS",
    "REVEALABLE",
    "TEMPORARY_CALLEE_MAX_SECONDS",
    "BindingRefused",
    "ImportRefused",
    "abandon_bind",
    "abandon_number_import",
    "apply_modification",
    "apply_x_number_status",
    "bind",
    "bulk_progress",
    "bulk_rows",
    "can_reveal",
    "check_import_size",
    "client_for",
    "confirm_number_import",
    "count_axe_bindings",
    "create_binding",
    "end_binding",
    "end_bindings",
    "expire_due",
    "hold",
    "may_follow_bulk_job",
    "modify_binding",
    "number_import_progress",
    "read_import_file",
    "reconcile",
    "reconcile_progress",
    "reinstate_numbers",
    "request_sync",
    "result_action",
    "result_meaning",
    "retire_numbers",
    "reveal_number",
    "run_bulk_create",
    "run_number_import",
    "set_temporary_callee",
    "start_bulk_create",
    "start_number_import",
    "start_reconcile",
    "stop_call",
    "sync_binding",
    "unbind",
    "validate_number_import",
]
