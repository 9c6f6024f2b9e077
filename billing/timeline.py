"""Billing's entries in a binding's timeline (``bindings.timeline``): its calls, newest 200.

Registered from ``BillingConfig.ready()`` (:func:`register`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from billing import explain
from billing.choices import CallOutcome
from billing.models import CallRecord
from bindings.timeline import LIMIT, Entry, source


def calls(binding) -> Iterable[Entry]:
    if not binding.subscription_id:
        return
    # Found by subscriptionId within the application (indexed), as billing links them.
    records = (
        CallRecord.objects.filter(
            application_id=binding.application_id, subscription_id=binding.subscription_id
        )
        .only("started_at", "outcome", "talk_seconds", "ul_fail_reason", "session_id")
        .order_by("-started_at")[:LIMIT]
    )
    outcomes = dict(CallOutcome.choices)
    for record in records:
        answered = record.outcome == CallOutcome.ANSWERED
        if answered:
            detail = _("%(outcome)s, %(seconds)s s") % {
                "outcome": outcomes[record.outcome],
                "seconds": record.talk_seconds,
            }
        else:
            detail = explain.release_point_text(record.ul_fail_reason)
        yield Entry(record.started_at, "call", _("Call"), str(detail), ok=answered)


def register() -> None:
    """Called from ``BillingConfig.ready()``."""
    source(calls)
