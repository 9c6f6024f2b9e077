"""What each binding mode sends to the platform and how its answers are read (spec §5).

Pure translation between a :class:`~bindings.models.Binding` and the client's request models; the
decisions (when to bind, adopt, fail or retry) are in :mod:`bindings.services`. The console always
names the X (and Y, and AXE extension) it chose, so the platform never picks at random.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bindings.models import Binding
from console.choices import Mode
from console.numbers import mask, mask_text
from privatenumber.client import PrivateNumberClient
from privatenumber.errors import PlatformError
from privatenumber.schemas import (
    AXE_V2_FIRST_CURSOR,
    AxbBindRequest,
    AxBindRequest,
    AxbModifyRequest,
    AxeBindRequest,
    AxeModifyRequest,
    AxModifyRequest,
    AxybBindAxRequest,
    AxybBindYbRequest,
    PlayInfo,
    SchemaError,
)

# Answers that mean "no such binding" (spec §5.1.4, §5.2.4, §7; AX unbind's 1011004 text
# is UNCONFIRMED, 1012001 is what AXB answers for a binding or number no longer ours).
NOT_FOUND_CODES = frozenset({"1016001", "1011004", "1012001"})

# Field names of the request models (and the spec's aliases) -> the binding's field names.
REQUEST_FIELDS = {
    "caller_num": "a_number",
    "orig_num": "a_number",
    "bind_num": "a_number",
    "num_a": "a_number",
    "callee_num": "b_number",
    "num_b": "b_number",
    "relation_num": "x_number",
    "private_num": "x_number",
    "virtual_num": "x_number",
    "num_x": "x_number",
    "num_y": "y_number",
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


def _build(model: type, **fields: Any):
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        raise RequestRefused(_field_of(location) if location else None, problem) from None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _text(value: str) -> str | None:
    return value or None


def _play_info(binding: Binding) -> PlayInfo | None:
    if not (binding.caller_hint_tone or binding.callee_hint_tone):
        return None
    return _build(
        PlayInfo,
        caller_hint_tone=_text(binding.caller_hint_tone),
        callee_hint_tone=_text(binding.callee_hint_tone),
    )


def _minutes(seconds: int | None) -> int | None:
    return seconds // 60 if seconds else None


# ---------------------------------------------------------------------------------------------
# Bind
# ---------------------------------------------------------------------------------------------


def bind_request(binding: Binding):
    """The bind request of a binding (for AXYB: the first step, A–X)."""
    record = {
        "record_flag": _flag(binding.record_flag),
        "record_hint_tone": _text(binding.record_hint_tone) if binding.record_flag else None,
    }
    if binding.mode == Mode.AXB:
        return _build(
            AxbBindRequest,
            relation_num=binding.x_number,
            caller_num=binding.a_number,
            callee_num=binding.b_number,
            call_direction=int(binding.call_direction),
            duration=binding.duration or None,
            max_duration=binding.max_duration or None,
            last_min_voice=_text(binding.last_min_voice),
            private_sms=_flag(binding.private_sms),
            pre_voice=_play_info(binding),
            user_data=_text(binding.user_data),
            **record,
        )
    if binding.mode == Mode.AX:
        return _build(
            AxBindRequest,
            orig_num=binding.a_number,
            private_num=binding.x_number,
            call_direction=int(binding.call_direction),
            max_duration=binding.max_duration or None,
            last_min_voice=_text(binding.last_min_voice),
            private_sms=_flag(binding.private_sms),
            pre_voice=_play_info(binding),
            user_data=_text(binding.user_data),
            **record,
        )
    if binding.mode == Mode.AXE:
        return _build(
            AxeBindRequest,
            bind_num=binding.a_number,
            virtual_num=binding.x_number,
            extend_num=_text(binding.extension),
            display_num_mode=_text(binding.display_num_mode),
            callback_num=_text(binding.callback_num),
            callback_tone=_text(binding.callback_tone),
            # Lifetimes are always sent in minutes (timeUnit "1"), whatever the platform default.
            time_unit="1" if binding.duration or binding.callback_expired_time else None,
            bind_expired_time=_minutes(binding.duration),
            callback_expired_time=binding.callback_expired_time,
            user_data=_text(binding.user_data),
            **record,
        )
    if binding.mode == Mode.AXYB:
        return _build(
            AxybBindAxRequest,
            num_a=binding.a_number,
            num_x=binding.x_number,
            call_direction=int(binding.call_direction),
            duration=binding.duration or None,
            yb_duration=binding.yb_duration or None,
            # preVoiceY is heard by whoever dials Y (A, calling B); preVoiceX by whoever dials X.
            pre_voice_y=_text(binding.caller_hint_tone),
            pre_voice_x=_text(binding.callee_hint_tone),
            user_data=_text(binding.user_data),
            **record,
        )
    raise RequestRefused(None, f"mode {binding.mode} has no bindings")


def yb_request(binding: Binding) -> AxybBindYbRequest:
    """The second AXYB bind step: Y–B on the binding of the first."""
    return _build(
        AxybBindYbRequest,
        subscription_id=binding.subscription_id,
        num_b=binding.b_number,
        num_y=binding.y_number,
        yb_duration=binding.yb_duration or None,
    )


def send_bind(client: PrivateNumberClient, binding: Binding) -> str:
    """Send the bind (first AXYB step) and return the platform's subscriptionId."""
    request = bind_request(binding)
    if binding.mode == Mode.AXB:
        return client.axb_bind(request).subscription_id
    if binding.mode == Mode.AX:
        return client.ax_bind(request).subscription_id
    if binding.mode == Mode.AXE:
        return client.axe_bind(request).subscription_id
    return client.axyb_bind(request).subscription_id


def send_yb(client: PrivateNumberClient, binding: Binding) -> str:
    return client.axyb_bind(yb_request(binding)).subscription_id


def _absent(error: PlatformError) -> bool:
    return error.code in NOT_FOUND_CODES


def find_landed(client: PrivateNumberClient, binding: Binding) -> str | None:
    """The subscriptionId of this binding if an earlier bind landed on the platform, else None.

    Asked by X and the parties, which is all the console knows before the platform answered.
    """
    try:
        if binding.mode == Mode.AXB:
            answer = client.axb_query(
                relation_num=binding.x_number,
                caller_num=binding.a_number,
                callee_num=binding.b_number,
            )
            for item in answer.relation_num_list:
                if item.caller_num == binding.a_number and item.callee_num == binding.b_number:
                    return item.subscription_id
            return None
        if binding.mode == Mode.AX:
            answer = client.ax_query(private_num=binding.x_number)
            for item in answer.private_num_list:
                if item.orig_num == binding.a_number:
                    return item.subscription_id
            return None
        if binding.mode == Mode.AXE:
            answer = client.axe_query(virtual_num=binding.x_number, extend_num=binding.extension)
            return answer.subscription_id if answer.bind_num == binding.a_number else None
        if binding.mode == Mode.AXYB:
            answer = client.axyb_query(relation_num=binding.x_number)
            for item in answer.xy_relation_num_list:
                if item.num_a == binding.a_number and not item.num_y:
                    return item.bind_id
            return None
    except PlatformError as error:
        if _absent(error):
            return None
        raise
    return None


def find_landed_yb(client: PrivateNumberClient, binding: Binding) -> str | None:
    """AXYB: the id of the Y–B relation if an earlier second step landed."""
    try:
        answer = client.axyb_query(relation_num=binding.y_number)
    except PlatformError as error:
        if _absent(error):
            return None
        raise
    for item in answer.xy_relation_num_list:
        if (
            item.num_b == binding.b_number
            and item.num_x == binding.x_number
            and item.num_a == binding.a_number
        ):
            return item.bind_id
    return None


# ---------------------------------------------------------------------------------------------
# Unbind, query, modify
# ---------------------------------------------------------------------------------------------


def send_unbind(client: PrivateNumberClient, binding: Binding) -> None:
    """Remove the binding (AXYB: the A–X part, which takes its Y–B relation with it)."""
    sid = binding.subscription_id
    if binding.mode == Mode.AXB:
        client.axb_unbind(subscription_id=sid)
    elif binding.mode == Mode.AX:
        client.ax_unbind(subscription_id=sid)
    elif binding.mode == Mode.AXE:
        client.axe_unbind(subscription_id=sid)
    elif binding.mode == Mode.AXYB:
        client.axyb_unbind(subscription_id=sid)


def exists(client: PrivateNumberClient, binding: Binding) -> bool:
    """Whether the platform still has this binding (asked by its subscriptionId)."""
    sid = binding.subscription_id
    try:
        if binding.mode == Mode.AXB:
            return bool(client.axb_query(subscription_id=sid).relation_num_list)
        if binding.mode == Mode.AX:
            return bool(client.ax_query(subscription_id=sid).private_num_list)
        if binding.mode == Mode.AXE:
            return client.axe_query(subscription_id=sid).subscription_id == sid
        if binding.mode == Mode.AXYB:
            return bool(client.axyb_query(subscription_id=sid).xy_relation_num_list)
    except PlatformError as error:
        if _absent(error):
            return False
        raise
    return False


# Fields each mode can change on the platform (spec §5.1.2, §5.2.2, §5.3.2). AXYB has no modify.
MODIFIABLE: dict[str, tuple[str, ...]] = {
    Mode.AXB: (
        "call_direction",
        "duration",
        "max_duration",
        "last_min_voice",
        "record_flag",
        "record_hint_tone",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    Mode.AX: (
        "private_sms",
        "record_flag",
        "record_hint_tone",
        "max_duration",
        "last_min_voice",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    Mode.AXE: (
        "display_num_mode",
        "record_flag",
        "record_hint_tone",
        "callback_num",
        "callback_tone",
        "duration",
        "callback_expired_time",
        "user_data",
    ),
    Mode.AXYB: (),
}


def modify_request(binding: Binding, changes: dict[str, Any]):
    """The modify request carrying ``changes`` (field -> new value) of an active binding.

    ``binding`` already holds the new values; only the changed fields (and what the interface
    requires) are sent, everything absent stays as it is on the platform.
    """
    changed = set(changes)
    record = {}
    if changed & {"record_flag", "record_hint_tone"}:
        record["record_flag"] = _flag(binding.record_flag)
        if binding.record_flag and binding.record_hint_tone:
            record["record_hint_tone"] = binding.record_hint_tone
    tones = _play_info(binding) if changed & {"caller_hint_tone", "callee_hint_tone"} else None
    minutes = {}
    if "max_duration" in changed or "last_min_voice" in changed:
        minutes["max_duration"] = binding.max_duration
        minutes["last_min_voice"] = _text(binding.last_min_voice)
    user_data = _text(binding.user_data) if "user_data" in changed else None
    if binding.mode == Mode.AXB:
        return _build(
            AxbModifyRequest,
            subscription_id=binding.subscription_id,
            call_direction=int(binding.call_direction) if "call_direction" in changed else None,
            duration=(binding.duration or 0) if "duration" in changed else None,
            private_sms=_flag(binding.private_sms) if "private_sms" in changed else None,
            pre_voice=tones,
            user_data=user_data,
            **minutes,
            **record,
        )
    if binding.mode == Mode.AX:
        return _build(
            AxModifyRequest,
            subscription_id=binding.subscription_id,
            # Huawei's sample makes privateSms mandatory on every AX modify.
            private_sms=_flag(binding.private_sms),
            pre_voice=tones,
            user_data=user_data,
            **minutes,
            **record,
        )
    if binding.mode == Mode.AXE:
        callback = {}
        if changed & {"callback_num", "callback_tone"}:
            callback = {
                "callback_num": _text(binding.callback_num),
                "callback_tone": _text(binding.callback_tone),
            }
        lifetimes = {}
        if changed & {"duration", "callback_expired_time"}:
            lifetimes["time_unit"] = "1"
            if "duration" in changed:
                lifetimes["bind_expired_time"] = _minutes(binding.duration) or 0
            if "callback_expired_time" in changed:
                lifetimes["callback_expired_time"] = binding.callback_expired_time or 0
        return _build(
            AxeModifyRequest,
            subscription_id=binding.subscription_id,
            display_num_mode=(
                _text(binding.display_num_mode) if "display_num_mode" in changed else None
            ),
            user_data=user_data,
            **callback,
            **lifetimes,
            **record,
        )
    raise RequestRefused(None, f"mode {binding.mode} cannot be modified")


def send_modify(client: PrivateNumberClient, binding: Binding, changes: dict[str, Any]) -> None:
    request = modify_request(binding, changes)
    if binding.mode == Mode.AXB:
        client.axb_modify(request)
    elif binding.mode == Mode.AX:
        client.ax_modify(request)
    elif binding.mode == Mode.AXE:
        client.axe_modify(request)


# ---------------------------------------------------------------------------------------------
# Listing what the platform holds on one number (reconciliation)
# ---------------------------------------------------------------------------------------------


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


def list_on_number(
    client: PrivateNumberClient, mode: str, number: str, *, page_size: int = 100
) -> Iterator[PlatformBinding]:
    """Every binding the platform holds on ``number`` (as X, or as Y in AXYB), page by page."""
    try:
        if mode == Mode.AXB:
            page = 1
            while True:
                answer = client.axb_query(relation_num=number, page_index=page, page_size=page_size)
                for item in answer.relation_num_list:
                    yield PlatformBinding(
                        item.subscription_id,
                        item.caller_num or "",
                        item.callee_num or "",
                        item.relation_num or number,
                    )
                seen = page * page_size
                if not answer.relation_num_list or seen >= (answer.total_count or 0):
                    return
                page += 1
        elif mode == Mode.AX:
            answer = client.ax_query(private_num=number)
            for item in answer.private_num_list:
                yield PlatformBinding(
                    item.subscription_id, item.orig_num or "", "", item.private_num or number
                )
        elif mode == Mode.AXE:
            cursor = AXE_V2_FIRST_CURSOR
            while cursor:
                answer = client.axe_query_v2(virtual_num=number, cursor=cursor, limit=page_size)
                for item in answer.bind_list:
                    yield PlatformBinding(
                        item.subscription_id,
                        item.bind_num or "",
                        "",
                        item.virtual_num or number,
                        extension=item.extend_num or "",
                    )
                cursor = answer.next_cursor if answer.bind_list else None
        elif mode == Mode.AXYB:
            answer = client.axyb_query(relation_num=number)
            for item in answer.xy_relation_num_list:
                yield PlatformBinding(
                    item.bind_id,
                    item.num_a or "",
                    item.num_b or "",
                    item.num_x or "",
                    item.num_y or "",
                )
    except PlatformError as error:
        if _absent(error):
            return
        raise


__all__ = [
    "MODIFIABLE",
    "NOT_FOUND_CODES",
    "PlatformBinding",
    "RequestRefused",
    "SchemaError",
    "bind_request",
    "exists",
    "find_landed",
    "find_landed_yb",
    "list_on_number",
    "mask_text",
    "modify_request",
    "send_bind",
    "send_modify",
    "send_unbind",
    "send_yb",
    "yb_request",
]
