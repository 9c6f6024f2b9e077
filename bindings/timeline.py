"""A binding's history as one list: its life, every platform answer, every person's action.

Each source is a function ``binding -> iterable of Entry`` registered with :func:`source`; later
apps add theirs (calls and CDRs in billing, recordings) from their ``AppConfig.ready()``::

    from bindings.timeline import Entry, source

    @source
    def calls(binding):
        for cdr in binding.cdrs.all():
            yield Entry(cdr.call_in_time, "call", _("Call"), ...)

A source runs a bounded number of queries (not one per entry) and must mask real numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from bindings.models import Binding
from console.gateway import result_meaning
from console.models import AuditLog

Source = Callable[[Binding], Iterable["Entry"]]
_SOURCES: list[Source] = []

# How many rows each built-in source shows at most (a binding may see thousands of calls).
LIMIT = 200


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. ``ok`` colours it: True success, False failure, None neutral."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    ok: bool | None = None


def source(func: Source) -> Source:
    """Register a timeline source (usable as a decorator); registering twice is harmless."""
    if func not in _SOURCES:
        _SOURCES.append(func)
    return func


def timeline(binding: Binding) -> list[Entry]:
    """Every registered source's entries for ``binding``, oldest first."""
    entries: list[Entry] = []
    for func in _SOURCES:
        entries.extend(func(binding))
    return sorted(entries, key=lambda entry: entry.at)


@source
def lifecycle(binding: Binding) -> Iterable[Entry]:
    """Created, bound, YB part ended, ended."""
    yield Entry(binding.created_at, "lifecycle", str(_("Created")), binding.get_mode_display())
    if binding.bound_at:
        yield Entry(binding.bound_at, "lifecycle", str(_("Active on the platform")), ok=True)
    if binding.yb_ended_at:
        yield Entry(binding.yb_ended_at, "lifecycle", str(_("Y–B part expired")))
    if binding.ended_at:
        detail = binding.get_end_reason_display() if binding.end_reason else ""
        if binding.note:
            detail = f"{detail} – {binding.note}" if detail else binding.note
        failed = binding.status == "failed"
        yield Entry(
            binding.ended_at,
            "lifecycle",
            str(binding.get_status_display()),
            detail,
            ok=False if failed else None,
        )


@source
def platform_calls(binding: Binding) -> Iterable[Entry]:
    """Each request to the platform about this binding, with its answer."""
    for call in binding.platform_calls.order_by("-at")[:LIMIT]:
        ok = call.result_code in ("0", "") and call.http_status is not None and not call.error
        code = call.result_code or (str(call.http_status) if call.http_status else "")
        meaning = result_meaning(call.result_code, get_language() or "zh-hans")
        detail = f"{code} {meaning}".strip() if code else ""
        yield Entry(
            call.at,
            "platform",
            f"{call.interface} ({call.latency_ms} ms)",
            detail,
            ok=ok,
        )


@source
def audit_rows(binding: Binding) -> Iterable[Entry]:
    """What people did to this binding (numbers in audit rows are masked)."""
    content_type = ContentType.objects.get_for_model(Binding)
    rows = AuditLog.objects.filter(target_type=content_type, target_id=str(binding.pk)).order_by(
        "-at"
    )[:LIMIT]
    for row in rows:
        who = row.username or str(_("system"))
        where = f" ({row.ip_address})" if row.ip_address else ""
        yield Entry(row.at, "audit", f"{row.get_action_display()}: {who}{where}")
