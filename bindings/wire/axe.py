"""AXE (spec §5.3): A gets an extension E on a shared X; the console names X and E."""

from __future__ import annotations

from collections.abc import Iterator

from bindings.wire import (
    PlatformBinding,
    Wire,
    build,
    changed_settings,
    minutes,
    record,
    text,
)
from privatenumber.schemas import AXE_V2_FIRST_CURSOR, AxeBindRequest, AxeModifyRequest

# Lifetimes are always sent in minutes (timeUnit "1"), whatever the platform's default.
MINUTES = "1"


class AxeWire(Wire):
    def bind_request(self, binding):
        return build(
            AxeBindRequest,
            bind_num=binding.a_number,
            virtual_num=binding.x_number,
            extend_num=text(binding.extension),
            display_num_mode=text(binding.display_num_mode),
            callback_num=text(binding.callback_num),
            callback_tone=text(binding.callback_tone),
            time_unit=MINUTES if binding.duration or binding.callback_expired_time else None,
            bind_expired_time=minutes(binding.duration),
            callback_expired_time=binding.callback_expired_time,
            user_data=text(binding.user_data),
            **record(binding),
        )

    def modify_request(self, binding, changed):
        shared = changed_settings(binding, changed)
        callback = {}
        if changed & {"callback_num", "callback_tone"}:
            callback = {
                "callback_num": text(binding.callback_num),
                "callback_tone": text(binding.callback_tone),
            }
        lifetimes = {}
        if changed & {"duration", "callback_expired_time"}:
            lifetimes["time_unit"] = MINUTES
            if "duration" in changed:
                lifetimes["bind_expired_time"] = minutes(binding.duration) or 0
            if "callback_expired_time" in changed:
                lifetimes["callback_expired_time"] = binding.callback_expired_time or 0
        return build(
            AxeModifyRequest,
            subscription_id=binding.subscription_id,
            display_num_mode=(
                text(binding.display_num_mode) if "display_num_mode" in changed else None
            ),
            user_data=shared["user_data"],
            **callback,
            **lifetimes,
            **shared["record"],
        )

    def find_landed(self, client, binding):
        answer = client.axe_query(virtual_num=binding.x_number, extend_num=binding.extension)
        return answer.subscription_id if answer.bind_num == binding.a_number else None

    def exists(self, client, binding):
        sid = binding.subscription_id
        return client.axe_query(subscription_id=sid).subscription_id == sid

    def listing(self, client, number, page_size) -> Iterator[PlatformBinding]:
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
