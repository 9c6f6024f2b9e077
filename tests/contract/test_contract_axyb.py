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


def _code(call) -> str:
    with pytest.raises(PlatformError) as caught:
        call()
    return caught.value.code


def test_axyb_binds_in_two_steps(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(num_a=A, num_x=AXYB_X[0], duration=3600, yb_duration=600)
    assert isinstance(ax, schemas.AxybBindResponse)
    assert ax.relation_number == AXYB_X[0]
    yb = client.axyb_bind(subscription_id=ax.subscription_id, num_b=B)
    assert yb.relation_number in AXYB_X[1:]
    assert yb.subscription_id


def test_axyb_query_lists_the_relations(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(num_a=A, num_x=AXYB_X[0], duration=3600)
    yb = client.axyb_bind(subscription_id=ax.subscription_id, num_b=B, num_y=AXYB_X[1])
    for answer in (
        client.axyb_query(subscription_id=ax.subscription_id),
        client.axyb_query(relation_num=AXYB_X[0]),
    ):
        [relation] = answer.xy_relation_num_list
        assert (relation.num_a, relation.num_x, relation.num_y, relation.num_b) == (
            A,
            AXYB_X[0],
            AXYB_X[1],
            B,
        )
        assert relation.bind_id == yb.subscription_id
        assert relation.duration == "3600"


def test_axyb_unbind_removes_the_binding(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(num_a=A, num_x=AXYB_X[0])
    client.axyb_unbind(subscription_id=ax.subscription_id)
    assert _code(lambda: client.axyb_query(subscription_id=ax.subscription_id)) == "1016001"
    assert _code(lambda: client.axyb_unbind(subscription_id=ax.subscription_id)) == "1016001"


def test_a_y_is_never_used_twice_with_the_same_ax(client_for) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(num_a=A, num_x=AXYB_X[0])
    client.axyb_bind(subscription_id=ax.subscription_id, num_b=B, num_y=AXYB_X[2])
    again = lambda: client.axyb_bind(  # noqa: E731
        subscription_id=ax.subscription_id, num_b=B2, num_y=AXYB_X[2]
    )
    assert _code(again) == "1012010"
    # The same Y with another AX is allowed (A1X1Y1B1 + A2X2Y1B2).
    other = client.axyb_bind(num_a=A2, num_x=AXYB_X[1])
    reused = client.axyb_bind(subscription_id=other.subscription_id, num_b=B2, num_y=AXYB_X[2])
    assert reused.relation_number == AXYB_X[2]


def test_one_a_holds_at_most_five_x(client_for) -> None:
    client = client_for("AXYB")
    for number in AXYB_X[:5]:
        client.axyb_bind(num_a=A, num_x=number)
    assert _code(lambda: client.axyb_bind(num_a=A, num_x=AXYB_X[5])) == "1011003"


def test_the_same_a_and_x_cannot_be_bound_twice(client_for) -> None:
    client = client_for("AXYB")
    client.axyb_bind(num_a=A, num_x=AXYB_X[0])
    assert _code(lambda: client.axyb_bind(num_a=A, num_x=AXYB_X[0])) == "1016002"


def test_the_yb_step_needs_a_known_ax_binding(client_for) -> None:
    client = client_for("AXYB")
    assert _code(lambda: client.axyb_bind(subscription_id="no-such-binding", num_b=B)) == (
        "1016001"
    )


def test_stop_call_hangs_up_a_live_call(client_for, simulator) -> None:
    client = client_for("AXYB")
    ax = client.axyb_bind(num_a=A, num_x=AXYB_X[0])
    yb = client.axyb_bind(subscription_id=ax.subscription_id, num_b=B)
    call = simulator.control.place_call(A, yb.relation_number, "answered", duration=600, live=True)
    answer = client.stop_call(call["sessionId"])
    assert answer.result_code == "0"


def test_stop_call_of_an_unknown_session_is_refused(client_for) -> None:
    with pytest.raises(PlatformError) as caught:
        client_for("AXYB").stop_call("no-such-session@host")
    assert caught.value.permanent  # the code is UNCONFIRMED (simulator: 1016001)


def test_another_modes_app_gets_1010040(client_for) -> None:
    assert _code(lambda: client_for("AX").axyb_query(subscription_id="s-1")) == "1010040"
