"""AX (spec §5.2): A owns X; the console names X and ends the binding itself."""

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
from privatenumber.schemas import AxBindRequest, AxModifyRequest


class AxWire(Wire):
    def bind_request(self, binding):
        return build(
            AxBindRequest,
            orig_num=binding.a_number,
            private_num=binding.x_number,
            call_direction=int(binding.call_direction),
            max_duration=binding.max_duration or None,
            last_min_voice=text(binding.last_min_voice),
            private_sms=flag(binding.private_sms),
            pre_voice=play_info(binding),
            callee_num_display=binding.application.callee_num_display,
            user_data=text(binding.user_data),
            **record(binding),
        )

    def modify_request(self, binding, changed):
        shared = changed_settings(binding, changed)
        return build(
            AxModifyRequest,
            subscription_id=binding.subscription_id,
            # Huawei's sample makes privateSms mandatory on every AX modify.
            private_sms=flag(binding.private_sms),
            pre_voice=shared["tones"],
            user_data=shared["user_data"],
            **shared["minutes"],
            **shared["record"],
        )

    def find_landed(self, client, binding):
        answer = client.ax_query(private_num=binding.x_number)
        for item in answer.private_num_list:
            if item.orig_num == binding.a_number:
                return item.subscription_id
        return None

    def exists(self, client, binding):
        return bool(client.ax_query(subscription_id=binding.subscription_id).private_num_list)

    def listing(self, client, number, page_size) -> Iterator[PlatformBinding]:
        answer = client.ax_query(private_num=number)
        for item in answer.private_num_list:
            yield PlatformBinding(
                item.subscription_id, item.orig_num or "", "", item.private_num or number
            )
