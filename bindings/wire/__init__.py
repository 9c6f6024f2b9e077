"""How a binding is written to the platform and read back from it, one module per mode (spec §5).

Pure translation between a :class:`~bindings.models.Binding` and the client's request models, and
from the platform's answers back to what the console keeps: no decisions (when to bind, adopt,
fail or retry: ``bindings.services``), no database. Each mode's module (``axb``, ``ax``, ``axe``,
``axyb``) has one :class:`Wire`; the console's mode table (:mod:`bindings.modes`) holds it, and
``bindings.platform`` sends through it. The console names the X (and the AXE extension) it chose,
so the platform never picks at random, except in AXYB: its bind names no number (spec §5.4.1), so
the console names the city of the X (and of the Y) it chose, strictly, and takes the numbers the
platform answers.

Shared here: the refusal of a request that does not fit its model (:class:`RequestRefused`, naming
the binding's field), the small conversions every mode uses, and :class:`PlatformBinding`, one
binding as a query lists it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from console.numbers import mask
from privatenumber.errors import PlatformError
from privatenumber.schemas import PlayInfo

if TYPE_CHECKING:
    from bindings.models import Binding
    from privatenumber.client import PrivateNumberClient

# Answers that mean "no such binding" (spec §5.1.4, §5.2.4, §7; AX unbind's 1011004 text
# is UNCONFIRMED, 1012001 is what AXB answers for a binding or number no longer ours).
NOT_FOUND_CODES = frozenset({"1016001", "1011004", "1012001"})

# Field names of the request models (and the spec's aliases) -> the binding's field names.
REQUEST_FIELDS = {
    "caller_num": "a_number",
    "orig_num": "a_number",
    "bind_num": "a_number",
    "callee_num": "b_number",
    "relation_num": "x_number",
    "private_num": "x_number",
    "virtual_num": "x_number",
    "area_code": "area_code",
    "extend_num": "extension",
    "user_data": "user_data",
    "record_hint_tone": "record_hint_tone",
    "last_min_voice": "last_min_voice",
    "max_duration": "max_duration",
    "duration": "duration",
    "yb_duration": "yb_duration",
    "callback_num": "callback_num",
    "callback_tone": "callback_tone",
    "callback_expired_time": "callback_expired_time",
    "bind_expired_time": "duration",
    "pre_voice": "caller_hint_tone",
    "caller_hint_tone": "caller_hint_tone",
    "callee_hint_tone": "callee_hint_tone",
    "display_num_mode": "display_num_mode",
    "call_direction": "call_direction",
    "pre_voice_x": "callee_hint_tone",
    "pre_voice_y": "caller_hint_tone",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class RequestRefused(ValueError):
    """A request that does not fit its model; ``field`` is the binding's field name or None."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _field_of(location: str) -> str | None:
    head = location.split(".", 1)[0]
    snake = _CAMEL.sub("_", head).lower()
    return REQUEST_FIELDS.get(snake) or REQUEST_FIELDS.get(head)


def build(model: type, **fields: Any):
    """``model`` from the fields that are not None; :class:`RequestRefused` naming the binding's
    field when it does not fit."""
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        raise RequestRefused(_field_of(location) if location else None, problem) from None


def flag(value: bool) -> str:
    return "true" if value else "false"


def text(value: str) -> str | None:
    return value or None


def minutes(seconds: int | None) -> int | None:
    return seconds // 60 if seconds else None


def play_info(binding: Binding) -> PlayInfo | None:
    """The waiting tones (``preVoice``) of a binding, or None when it has none."""
    if not (binding.caller_hint_tone or binding.callee_hint_tone):
        return None
    return build(
        PlayInfo,
        caller_hint_tone=text(binding.caller_hint_tone),
        callee_hint_tone=text(binding.callee_hint_tone),
    )


def record(binding: Binding) -> dict[str, Any]:
    """``recordFlag`` and, when recording, the notice tone: the same in every mode's bind."""
    return {
        "record_flag": flag(binding.record_flag),
        "record_hint_tone": text(binding.record_hint_tone) if binding.record_flag else None,
    }


def changed_settings(binding: Binding, changed: set[str]) -> dict[str, Any]:
    """What a modify sends of the settings every mode shares, for the fields in ``changed``:
    recording (flag and tone together), waiting tones, call length and its last-minute tone,
    user data. Keys: ``record`` (a dict), ``tones``, ``minutes`` (a dict), ``user_data``."""
    recording: dict[str, Any] = {}
    if changed & {"record_flag", "record_hint_tone"}:
        recording["record_flag"] = flag(binding.record_flag)
        if binding.record_flag and binding.record_hint_tone:
            recording["record_hint_tone"] = binding.record_hint_tone
    length: dict[str, Any] = {}
    if "max_duration" in changed or "last_min_voice" in changed:
        length["max_duration"] = binding.max_duration
        length["last_min_voice"] = text(binding.last_min_voice)
    return {
        "record": recording,
        "tones": play_info(binding) if changed & {"caller_hint_tone", "callee_hint_tone"} else None,
        "minutes": length,
        "user_data": text(binding.user_data) if "user_data" in changed else None,
    }


def city_of(number: str, binding: Binding) -> str | None:
    """The city code of an X (or Y) of the binding: its pool row's, else the binding's city."""
    for held in (binding.x, binding.y):
        if held is not None and held.number == number and held.city_code:
            return held.city_code
    return binding.area_code or None


def strict_city(number: str, binding: Binding) -> dict[str, str]:
    """``areaCode`` (strict) naming the city of ``number``, when it is known."""
    city = city_of(number, binding)
    return {"area_code": city, "area_match_mode": "0"} if city else {}


def absent(error: PlatformError) -> bool:
    """Whether the platform's refusal means it has no such binding."""
    return error.code in NOT_FOUND_CODES


@dataclass(frozen=True)
class PlatformBinding:
    """One binding as a platform query lists it."""

    subscription_id: str
    a_number: str = ""
    b_number: str = ""
    x_number: str = ""
    y_number: str = ""
    extension: str = ""

    def masked(self) -> dict[str, str]:
        return {
            "subscriptionId": self.subscription_id,
            "a": mask(self.a_number),
            "b": mask(self.b_number),
            "x": self.x_number,
            "y": self.y_number,
            "e": self.extension,
        }


class Wire:
    """What one mode sends to the platform and how it reads the answers.

    Subclasses build each request of their mode and read its queries; the defaults here are for a
    verb the mode does not have. Bind, modify and unbind are sent through the interfaces of the
    platform's mode table (``bindings.platform``); the queries are mode-specific and sent here.
    Query methods may raise :class:`PlatformError`; "not found" is read by the caller.
    """

    def bind_request(self, binding: Binding):
        """The bind request (the first step where there are two)."""
        raise RequestRefused(None, f"mode {binding.mode} has no bindings")

    def bound(self, answer) -> tuple[str, str | None]:
        """The bind's answer: the subscriptionId and, where the platform chose X, that X."""
        return answer.subscription_id, None

    def second_request(self, binding: Binding):
        """The second bind step's request, for a mode that binds in two steps (AXYB)."""
        raise RequestRefused(None, f"mode {binding.mode} binds in one step")

    def modify_request(self, binding: Binding, changed: set[str]):
        """The modify request carrying the ``changed`` fields of ``binding`` (new values set)."""
        raise RequestRefused(None, f"mode {binding.mode} cannot be modified")

    def find_landed(self, client: PrivateNumberClient, binding: Binding) -> str | None:
        """The subscriptionId of this binding if an earlier bind landed, asked by X and the
        parties (all the console knows before the platform answered); else None."""
        raise NotImplementedError

    def exists(self, client: PrivateNumberClient, binding: Binding) -> bool:
        """Whether the platform still has this binding (asked by its subscriptionId)."""
        raise NotImplementedError

    def listing(
        self, client: PrivateNumberClient, number: str, page_size: int
    ) -> Iterator[PlatformBinding]:
        """Every binding the platform holds on ``number``, page by page."""
        raise NotImplementedError
