"""Contract: AXB interfaces (spec §5.1) of the client against the simulator."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from privatenumber import schemas
from privatenumber.errors import PlatformError
from tests.contract.conftest import AXB_X

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613900000002"
C = "+8613700000003"
D = "+8613600000004"


def _code(call) -> str:
    with pytest.raises(PlatformError) as caught:
        call()
    return caught.value.code


def test_axb_bind_on_a_given_x_answers_the_subscription_id(client_for) -> None:
    client = client_for("AXB")
    answer = client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    assert isinstance(answer, schemas.AxbBindResponse)
    assert answer.subscription_id
    assert answer.relation_num == AXB_X[0]


def test_axb_query_finds_a_binding_by_id_and_by_x_with_plus_escaped(client_for, calls) -> None:
    client = client_for("AXB")
    bound = client.axb_bind(
        relation_num=AXB_X[0], caller_num=A, callee_num=B, duration=3600, user_data="order-1"
    )
    by_id = client.axb_query(subscription_id=bound.subscription_id)
    # The simulator reads "+" in a query as a space; finding the X proves it went as %2B.
    by_x = client.axb_query(relation_num=AXB_X[0], caller_num=A)
    for answer in (by_id, by_x):
        [binding] = answer.relation_num_list
        assert binding.subscription_id == bound.subscription_id
        assert (binding.caller_num, binding.callee_num) == (A, B)
        assert binding.duration == 3600
        assert binding.user_data == "order-1"
        assert binding.subscribe_time is not None
    assert calls[-1].path == "/rest/caas/relationnumber/partners/v1.0"


def test_axb_query_pages_the_bindings_of_an_x(client_for) -> None:
    client = client_for("AXB")
    for index in range(12):
        client.axb_bind(
            relation_num=AXB_X[1],
            caller_num=f"+86138000100{index:02d}",
            callee_num=f"+86139000100{index:02d}",
        )
    first = client.axb_query(relation_num=AXB_X[1], page_size=10)
    second = client.axb_query(relation_num=AXB_X[1], page_size=10, page_index=2)
    assert first.total_count == 12
    assert (len(first.relation_num_list), len(second.relation_num_list)) == (10, 2)


def test_axb_modify_changes_the_binding(client_for) -> None:
    client = client_for("AXB")
    bound = client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    client.axb_modify(subscription_id=bound.subscription_id, callee_num=C, max_duration=30)
    [binding] = client.axb_query(subscription_id=bound.subscription_id).relation_num_list
    assert (binding.callee_num, binding.max_duration) == (C, 30)


def test_axb_unbind_removes_the_binding(client_for) -> None:
    client = client_for("AXB")
    bound = client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    client.axb_unbind(subscription_id=bound.subscription_id)
    assert _code(lambda: client.axb_query(subscription_id=bound.subscription_id)) == "1016001"


def test_axb_unbind_by_x_removes_every_binding_on_it(client_for) -> None:
    client = client_for("AXB")
    client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    client.axb_bind(relation_num=AXB_X[0], caller_num=C, callee_num=D)
    client.axb_unbind(relation_num=AXB_X[0])
    assert _code(lambda: client.axb_query(relation_num=AXB_X[0])) == "1016001"


def test_a_user_number_appears_once_per_x(client_for) -> None:
    client = client_for("AXB")
    client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    # AXB + BXC is refused; AXB + CXD is allowed; the same A with another B needs another X.
    error_code = _code(lambda: client.axb_bind(relation_num=AXB_X[0], caller_num=B, callee_num=C))
    assert error_code == "1012010"
    assert _code(lambda: client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=C)) == (
        "1012010"
    )
    assert client.axb_bind(relation_num=AXB_X[0], caller_num=C, callee_num=D).subscription_id
    assert client.axb_bind(relation_num=AXB_X[1], caller_num=A, callee_num=C).subscription_id


def test_axb_bind_by_city_picks_an_x_of_that_city(client_for) -> None:
    answer = client_for("AXB").axb_bind(area_code="0755", caller_num=A, callee_num=B)
    assert answer.relation_num in AXB_X[:2]


def test_no_free_x_in_the_city_is_1012008_when_strict(client_for) -> None:
    client = client_for("AXB")
    with pytest.raises(PlatformError) as caught:
        client.axb_bind(area_code="0756", area_match_mode="0", caller_num=A, callee_num=B)
    assert caught.value.code == "1012008"
    assert caught.value.permanent
    assert "loose matching" in caught.value.action_en


def test_loose_matching_finds_an_x_in_the_same_province(client_for) -> None:
    answer = client_for("AXB").axb_bind(
        area_code="0756", area_match_mode="1", caller_num=A, callee_num=B
    )
    assert answer.relation_num in AXB_X[:3]  # Shenzhen or Guangzhou, both in Guangdong


def test_an_x_the_app_does_not_own_is_refused(client_for) -> None:
    client = client_for("AXB")
    stranger = "+8617099999999"
    assert _code(lambda: client.axb_bind(relation_num=stranger, caller_num=A, callee_num=B)) == (
        "1012001"
    )
    assert _code(lambda: client.axb_unbind(relation_num=stranger)) == "1012001"


def test_an_unknown_binding_is_1016001(client_for) -> None:
    client = client_for("AXB")
    assert _code(lambda: client.axb_query(subscription_id="no-such-binding")) == "1016001"
    assert _code(lambda: client.axb_unbind(subscription_id="no-such-binding")) == "1016001"
    assert _code(lambda: client.axb_modify(subscription_id="no-such-binding", duration=60)) == (
        "1016001"
    )


def test_another_modes_app_gets_1010040(client_for) -> None:
    with pytest.raises(PlatformError) as caught:
        client_for("AX").axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    assert caught.value.code == "1010040"
    assert caught.value.http_status == 403


@pytest.mark.slow
def test_an_x_holds_at_most_5000_pairs(client_for) -> None:
    # 5000 binds, sent from 16 threads with a client each (a Session is not shared across threads).
    local = threading.local()

    def bind(index: int) -> None:
        if not hasattr(local, "client"):
            local.client = client_for("AXB", on_call=None)
        local.client.axb_bind(
            relation_num=AXB_X[3],
            caller_num=f"+86138{index:08d}",
            callee_num=f"+86139{index:08d}",
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(bind, range(5000)))
    with pytest.raises(PlatformError) as caught:
        client_for("AXB").axb_bind(relation_num=AXB_X[3], caller_num=A, callee_num=B)
    # The code for a full X is UNCONFIRMED (the simulator answers 1012008); it must be a refusal.
    assert caught.value.permanent
