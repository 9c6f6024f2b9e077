"""What the console sends to the platform about a binding, through the mode table (spec §5).

Each operation finds the binding's mode in :mod:`bindings.modes`, builds the request with the
mode's :class:`~bindings.wire.Wire` and sends it through the platform's interface of that verb
(``client.call``): nothing here switches on a mode's name. The decisions (when to bind, adopt, fail
or retry) are in :mod:`bindings.services`. "Not found" answers to a query read as "no such
binding".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bindings import modes
from bindings.models import Binding
from bindings.wire import (
    NOT_FOUND_CODES,
    PlatformBinding,
    RequestRefused,
    absent,
    city_of,
)
from console.numbers import mask_text
from privatenumber.client import PrivateNumberClient
from privatenumber.errors import PlatformError


def bind_request(binding: Binding):
    """The bind request of a binding (where it binds in two steps: the first)."""
    if not modes.has_bindings(binding.mode):
        raise RequestRefused(None, f"mode {binding.mode} has no bindings")
    return modes.of(binding.mode).wire.bind_request(binding)


def second_request(binding: Binding):
    """The second bind step's request (AXYB: Y–B on the binding of the first)."""
    return modes.of(binding.mode).wire.second_request(binding)


def send_bind(client: PrivateNumberClient, binding: Binding) -> tuple[str, str | None]:
    """Send the bind (its first step): the platform's subscriptionId, and the X it chose where
    the console named only a city (None where the console named X)."""
    mode = modes.of(binding.mode)
    answer = client.call(mode.interface("bind"), mode.wire.bind_request(binding))
    return mode.wire.bound(answer)


def send_second(client: PrivateNumberClient, binding: Binding) -> tuple[str, str]:
    """The second bind step: the Y–B relation's id and the Y the platform chose."""
    mode = modes.of(binding.mode)
    answer = client.call(mode.interface("bind_yb"), mode.wire.second_request(binding))
    return answer.subscription_id, answer.relation_number


def find_landed(client: PrivateNumberClient, binding: Binding) -> str | None:
    """The subscriptionId of this binding if an earlier bind landed on the platform, else None."""
    try:
        return modes.of(binding.mode).wire.find_landed(client, binding)
    except PlatformError as error:
        if absent(error):
            return None
        raise


def find_first_step(
    client: PrivateNumberClient, binding: Binding, candidates: list[str]
) -> tuple[str, str] | None:
    """Two steps: the first step's binding and its X, if an earlier one landed on one of the
    ``candidates`` (the numbers the platform could have chosen)."""
    return modes.of(binding.mode).wire.find_first_step(client, binding, candidates)


def find_second_step(client: PrivateNumberClient, binding: Binding) -> tuple[str, str] | None:
    """Two steps: the second step's relation and its Y, if an earlier one landed."""
    return modes.of(binding.mode).wire.find_second_step(client, binding)


def send_unbind(client: PrivateNumberClient, binding: Binding) -> None:
    """Remove the binding (two steps: the first, which takes the second with it)."""
    mode = modes.of(binding.mode)
    client.call(mode.interface("unbind"), subscription_id=binding.subscription_id)


def exists(client: PrivateNumberClient, binding: Binding) -> bool:
    """Whether the platform still has this binding (asked by its subscriptionId)."""
    try:
        return modes.of(binding.mode).wire.exists(client, binding)
    except PlatformError as error:
        if absent(error):
            return False
        raise


def modify_request(binding: Binding, changes: dict[str, Any]):
    """The modify request carrying ``changes`` (field -> new value) of an active binding.

    ``binding`` already holds the new values; only the changed fields (and what the interface
    requires) are sent, everything absent stays as it is on the platform.
    """
    return modes.of(binding.mode).wire.modify_request(binding, set(changes))


def send_modify(client: PrivateNumberClient, binding: Binding, changes: dict[str, Any]) -> None:
    mode = modes.of(binding.mode)
    request = mode.wire.modify_request(binding, set(changes))  # refused first where it has none
    client.call(mode.interface("modify"), request)


def list_on_number(
    client: PrivateNumberClient, mode: str, number: str, *, page_size: int = 100
) -> Iterator[PlatformBinding]:
    """Every binding the platform holds on ``number`` (as X, or as Y in AXYB), page by page;
    none in a mode without bindings (X)."""
    if not modes.has_bindings(mode):
        return
    try:
        yield from modes.of(mode).wire.listing(client, number, page_size)
    except PlatformError as error:
        if absent(error):
            return
        raise


__all__ = [
    "NOT_FOUND_CODES",
    "PlatformBinding",
    "RequestRefused",
    "bind_request",
    "city_of",
    "exists",
    "find_first_step",
    "find_landed",
    "find_second_step",
    "list_on_number",
    "mask_text",
    "modify_request",
    "second_request",
    "send_bind",
    "send_modify",
    "send_second",
    "send_unbind",
]
