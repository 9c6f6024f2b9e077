"""AXYB (spec §5.4): A bound to X and B bound to Y, in two steps at one URI.

The bind names no number: the console names the city of the X (and of the Y) it chose, strictly,
and takes the numbers the platform answers (``relationNumber``). The first step (A–X) answers the
binding's subscriptionId; the second (Y–B) names it and answers the relation's own id. AXYB has no
modify.
"""

from __future__ import annotations

from collections.abc import Iterator

from bindings.wire import PlatformBinding, Wire, absent, build, record, strict_city, text
from privatenumber.errors import PlatformError
from privatenumber.schemas import AxybBindAxRequest, AxybBindYbRequest


class AxybWire(Wire):
    def bind_request(self, binding):
        return build(
            AxybBindAxRequest,
            orig_num=binding.a_number,
            # The platform chooses X in this city; strict, so it cannot stray from the console's.
            **strict_city(binding.x_number, binding),
            call_direction=int(binding.call_direction),
            duration=binding.duration or None,
            yb_duration=binding.yb_duration or None,
            # preVoiceY is heard by whoever dials Y (A, calling B); preVoiceX by whoever dials X.
            pre_voice_y=text(binding.caller_hint_tone),
            pre_voice_x=text(binding.callee_hint_tone),
            user_data=text(binding.user_data),
            **record(binding),
        )

    def bound(self, answer):
        return answer.subscription_id, answer.relation_number

    def second_request(self, binding):
        """Y–B on the binding of the first step, Y chosen in Y's city."""
        return build(
            AxybBindYbRequest,
            orig_num=binding.b_number,
            subscription_id=binding.subscription_id,
            **strict_city(binding.y_number, binding),
            yb_duration=binding.yb_duration or None,
        )

    def find_landed(self, client, binding):
        found = self.find_first_step(client, binding, [binding.x_number])
        return found[0] if found else None

    def find_first_step(self, client, binding, candidates: list[str]) -> tuple[str, str] | None:
        """The A–X binding an earlier first step made, and its X, if it landed.

        The bind named only a city, so X may be any of ``candidates`` (the numbers the platform
        could have chosen); each is asked in turn.
        """
        for number in candidates:
            try:
                answer = client.axyb_query(relation_num=number)
            except PlatformError as error:
                if absent(error):
                    continue
                raise
            for item in answer.xy_relation_num_list:
                if item.num_a == binding.a_number and not item.num_y:
                    return item.bind_id, item.num_x or number
        return None

    def find_second_step(self, client, binding) -> tuple[str, str] | None:
        """The Y–B relation an earlier second step made, and its Y, if it landed.

        Asked by the A–X binding's id, which lists every relation hanging on it.
        """
        try:
            answer = client.axyb_query(subscription_id=binding.subscription_id)
        except PlatformError as error:
            if absent(error):
                return None
            raise
        for item in answer.xy_relation_num_list:
            if item.num_b == binding.b_number and item.num_y and item.num_a == binding.a_number:
                return item.bind_id, item.num_y
        return None

    def exists(self, client, binding):
        answer = client.axyb_query(subscription_id=binding.subscription_id)
        return bool(answer.xy_relation_num_list)

    def listing(self, client, number, page_size) -> Iterator[PlatformBinding]:
        answer = client.axyb_query(relation_num=number)
        for item in answer.xy_relation_num_list:
            yield PlatformBinding(
                item.bind_id,
                item.num_a or "",
                item.num_b or "",
                item.num_x or "",
                item.num_y or "",
            )
