"""The webhook inbox: every push is kept as a ``Delivery`` and applied in the same transaction.

``receive()`` is what the HTTP receiver (``console.hooks``) calls once the push is authenticated;
``reprocess()`` is what the admin action calls after a fix. Both apply a push through the same
registry (``handlers``), keyed by the kind of message, to the handler of the app that owns it,
which each app registers from its ``AppConfig.ready()``: this package imports no app above it.

Outcomes (see ``docs/notifications.md``):

* applied: the Delivery (state ``processed``) commits with its effects, then 200;
* a retry of a body already applied: nothing changes, 200 (with the same Block answer);
* a body that cannot be parsed: kept as ``failed`` with the reason, 400 naming the field;
* an unknown ``eventType``: kept as ``ignored``, 200 (the platform adds event types over time);
* a failure while applying (a bug, the database): rolled back, then kept as ``failed`` in a
  transaction of its own, 500 so that the platform retries; an administrator re-processes it;
* a push whose digest is right but whose header is stale, was used before with another body, or
  could not be checked (``hold()``): kept as ``held``, 200, applied only when corroborated
  (``corroborate()``, the owning app's rule) or released by an administrator (``release()``).
"""

from __future__ import annotations

from console.inbox.handlers import HANDLERS, Handler, Verdict, handler_for, register
from console.inbox.held import (
    HELD_COUNT_CAP,
    corroborate,
    corroborate_held,
    discard,
    held_count,
    hold,
    release,
)
from console.inbox.receiving import (
    Answer,
    Parsed,
    Reprocessed,
    digest_of,
    items_of,
    parse,
    receive,
    reprocess,
)

__all__ = [
    "HANDLERS",
    "HELD_COUNT_CAP",
    "Answer",
    "Handler",
    "Parsed",
    "Reprocessed",
    "Verdict",
    "corroborate",
    "corroborate_held",
    "digest_of",
    "discard",
    "handler_for",
    "held_count",
    "hold",
    "items_of",
    "parse",
    "receive",
    "register",
    "release",
    "reprocess",
]
