"""Contract: AXYB interfaces and stop-call (spec §5.4) of the client against the simulator."""

from __future__ import annotations

import pytest

from privatenumber import schemas
from privatenumber.errors import PlatformError
from tests.contract.conftest import AXYB_X

pytestmark = pytest.mark.simulator

A = "+8613800000001"
A2 = "+8613800000002"
B = "+8613900000002"
B2 = "+8613900000003"
CITY = "028"  # every AXYB number of the contract app


def _code(call) -> str:
    with pytest.raises(PlatformError) as caught:
        call()
    return caught.value.code


def test_axyb_binds_in_two_steps_and_the_platform_chooses_x_and_y(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(orig_num=A, area_code=CITY, duration=3600, yb_duration=600)
    assert isinstance(ax, schemas.AxybBindResponse)
    assert ax.relation_number in AXYB_X
    yb = client.axyb_bind(subscription_id=ax.subscription_id, orig_num=B, area_code=CITY)
    assert yb.relation_number in AXYB_X
    assert yb.relation_number != ax.relation_number
    assert yb.subscription_id


def test_axyb_query_lists_the_relations(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(orig_num=A, area_code=CITY, duration=3600)
    yb = client.axyb_bind(subscription_id=ax.subscription_id, orig_num=B)
    for answer in (
        client.axyb_query(subscription_id=ax.subscription_id),
        client.axyb_query(relation_num=ax.relation_number),
    ):
        [relation] = answer.xy_relation_num_list
        assert (relation.num_a, relation.num_x, relation.num_y, relation.num_b) == (
            A,
            ax.relation_number,
            yb.relation_number,
            B,
        )
        assert relation.bind_id == yb.subscription_id
        assert relation.duration == "3600"


def test_axyb_unbind_removes_the_binding(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(orig_num=A, area_code=CITY)
    client.axyb_unbind(subscription_id=ax.subscription_id)
    assert _code(lambda: client.axyb_query(subscription_id=ax.subscription_id)) == "1016001"
    assert _code(lambda: client.axyb_unbind(subscription_id=ax.subscription_id)) == "1016001"


def test_a_y_is_never_used_twice_with_the_same_ax(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(orig_num=A, area_code=CITY)
    first = client.axyb_bind(subscription_id=ax.subscription_id, orig_num=B)
    second = client.axyb_bind(subscription_id=ax.subscription_id, orig_num=B2)
    assert len({ax.relation_number, first.relation_number, second.relation_number}) == 3


def test_one_a_holds_at_most_five_x(client_for) -> None:
    client = client_for("AXYB")
    held = {client.axyb_bind(orig_num=A, area_code=CITY).relation_number for _ in range(5)}
    assert len(held) == 5
    assert _code(lambda: client.axyb_bind(orig_num=A, area_code=CITY)) == "1011003"


def test_a_city_without_a_free_x_is_refused(client_for) -> None:
    assert _code(lambda: client_for("AXYB").axyb_bind(orig_num=A, area_code="0755")) == "1012008"


def test_the_yb_step_needs_a_known_ax_binding(client_for) -> None:
    client = client_for("AXYB")
    assert _code(lambda: client.axyb_bind(subscription_id="no-such-binding", orig_num=B)) == (
        "1016001"
    )


def test_stop_call_hangs_up_a_live_call(client_for, simulator) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(orig_num=A, area_code=CITY)
    yb = client.axyb_bind(subscription_id=ax.subscription_id, orig_num=B)
    call = simulator.control.place_call(A, yb.relation_number, "answered", duration=600, live=True)
    answer = client.stop_call(call["sessionId"])
    assert answer.result_code == "0"
    assert simulator.control.request("GET", "calls/live")["sessionIds"] == []


def test_stop_call_of_an_unknown_session_is_refused(client_for) -> None:
    with pytest.raises(PlatformError) as caught:
        client_for("AXYB").stop_call("no-such-session@host")
    assert caught.value.permanent  # the code is UNCONFIRMED (simulator: 1016001)


def test_another_modes_app_gets_1010040(client_for) -> None:
    assert _code(lambda: client_for("AX").axyb_query(subscription_id="s-1")) == "1010040"
