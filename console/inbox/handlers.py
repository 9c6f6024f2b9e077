"""The registry of push handlers: which app applies each kind of pushed message, and how.

Each app registers the kinds of push it owns from its ``AppConfig.ready()`` (``billing/pushes.py``,
``bindings/pushes.py``), the idiom of ``bindings.timeline`` and ``console.jobs``; the inbox knows
none of them. A push whose model no app registered is kept as ``ignored``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """A judge's verdict on a held push: ``duplicate`` (nothing new: mark it so, apply nothing),
    ``corroborated`` (apply it), or "" (keep it held). ``note`` says why, for the admin page."""

    outcome: str = ""
    note: str = ""

    DUPLICATE = "duplicate"
    CORROBORATED = "corroborated"


@dataclass(frozen=True)
class Handler:
    """How the app that owns one kind of pushed message applies it.

    ``kind`` is its ``DeliveryKind``; ``model`` the ``privatenumber.schemas`` model its bodies
    parse into. ``apply(application, push, *, delivery)`` runs inside the push's transaction and
    returns the Block answer to send back (a wire dict), or None. ``corroborate(application,
    push)`` judges a held push of this kind (a :class:`Verdict`); None: such a push stays held
    until an administrator releases it (X-number status bodies carry no id or time to check).
    """

    kind: str
    model: type
    apply: Callable[..., dict[str, Any] | None]
    corroborate: Callable[..., Verdict] | None = None


# Kind of message → its handler, and push model → kind (the inbox parses by model).
HANDLERS: dict[str, Handler] = {}
_KINDS: dict[type, str] = {}


def register(
    kind: str,
    model: type,
    *,
    apply: Callable[..., dict[str, Any] | None],
    corroborate: Callable[..., Verdict] | None = None,
) -> None:
    """Let ``apply`` (and ``corroborate``) handle pushes of ``kind``; registering again replaces."""
    HANDLERS[kind] = Handler(kind, model, apply, corroborate)
    _KINDS[model] = kind


def kind_of(model: type) -> str | None:
    """The kind of message a push model is, or None when no app handles it."""
    return _KINDS.get(model)


def handler_for(kind: str) -> Handler:
    return HANDLERS[kind]
