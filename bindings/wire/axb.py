"""AXB (spec §5.1): A and B talk through X; the console names X."""

from __future__ import annotations

from collections.abc import Iterator

from bindings.wire import (
    PlatformBinding,
    Wire,
    build,
    changed_settings,
    flag,
    play_info,
    record,
    text,
)
from privatenumber.schemas import AxbBindRequest, AxbModifyRequest


class AxbWire(Wire):
    def bind_request(self, binding):
        return build(
            AxbBindRequest,
            relation_num=binding.x_number,
            caller_num=binding.a_number,
            callee_num=binding.b_number,
            call_direction=int(binding.call_direction),
            duration=binding.duration or None,
            max_duration=binding.max_duration or None,
            last_min_voice=text(binding.last_min_voice),
            private_sms=flag(binding.private_sms),
            pre_voice=play_info(binding),
            user_data=text(binding.user_data),
            **record(binding),
        )

    def modify_request(self, binding, changed):
        shared = changed_settings(binding, changed)
        return build(
            AxbModifyRequest,
            subscription_id=binding.subscription_id,
            call_direction=int(binding.call_direction) if "call_direction" in changed else None,
            duration=(binding.duration or 0) if "duration" in changed else None,
            private_sms=flag(binding.private_sms) if "private_sms" in changed else None,
            pre_voice=shared["tones"],
            user_data=shared["user_data"],
            **shared["minutes"],
            **shared["record"],
        )

    def find_landed(self, client, binding):
        answer = client.axb_query(
            relation_num=binding.x_number, caller_num=binding.a_number, callee_num=binding.b_number
        )
        for item in answer.relation_num_list:
            if item.caller_num == binding.a_number and item.callee_num == binding.b_number:
                return item.subscription_id
        return None

    def exists(self, client, binding):
        return bool(client.axb_query(subscription_id=binding.subscription_id).relation_num_list)

    def listing(self, client, number, page_size) -> Iterator[PlatformBinding]:
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
