"""Contract: AX interfaces (spec §5.2) of the client against the simulator."""

from __future__ import annotations

import pytest

from privatenumber import schemas
from privatenumber.errors import PlatformError
from tests.contract.conftest import AX_X

pytestmark = pytest.mark.simulator

A = "+8613800000001"
A2 = "+8613800000002"
B = "+8613900000002"


def _code(call) -> str:
    with pytest.raises(PlatformError) as caught:
        call()
    return caught.value.code


def test_ax_bind_to_a_given_x(client_for) -> None:
    answer = client_for("AX").ax_bind(orig_num=A, private_num=AX_X[0], user_data="shop-1")
    assert isinstance(answer, schemas.AxBindResponse)
    assert (answer.orig_num, answer.private_num) == (A, AX_X[0])
    assert answer.subscription_id


def test_ax_bind_by_city_sends_the_private_number_type(client_for) -> None:
    # The simulator insists on privateNumType with areaCode; the model fills it in.
    answer = client_for("AX").ax_bind(orig_num=A, area_code="0755")
    assert answer.private_num in AX_X


def test_ax_query_finds_the_binding_three_ways(client_for) -> None:
    client = client_for("AX")
    bound = client.ax_bind(orig_num=A, private_num=AX_X[0])
    for answer in (
        client.ax_query(subscription_id=bound.subscription_id),
        client.ax_query(orig_num=A),
        client.ax_query(private_num=AX_X[0]),
    ):
        [binding] = answer.private_num_list
        assert (binding.subscription_id, binding.orig_num, binding.private_num) == (
            bound.subscription_id,
            A,
            AX_X[0],
        )


def test_ax_modify_changes_the_binding(client_for) -> None:
    client = client_for("AX")
    bound = client.ax_bind(orig_num=A, private_num=AX_X[0])
    client.ax_modify(subscription_id=bound.subscription_id, private_sms="false", max_duration=5)
    client.ax_modify(orig_num=A, private_num=AX_X[0], private_sms="false", record_flag="true")
    [binding] = client.ax_query(subscription_id=bound.subscription_id).private_num_list
    assert (binding.private_sms, binding.max_duration, binding.record_flag) == ("false", 5, "true")


def test_the_temporary_callee_shows_in_the_query(client_for) -> None:
    client = client_for("AX")
    bound = client.ax_bind(orig_num=A, private_num=AX_X[0])
    client.ax_set_temporary_callee(orig_num=A, private_num=AX_X[0], callee_num=B, duration=600)
    [binding] = client.ax_query(subscription_id=bound.subscription_id).private_num_list
    assert binding.callee_num == B


def test_a_temporary_callee_needs_an_ax_binding(client_for) -> None:
    client = client_for("AX")
    call = lambda: client.ax_set_temporary_callee(  # noqa: E731
        orig_num=A, private_num=AX_X[0], callee_num=B
    )
    assert _code(call) == "1016001"


def test_ax_unbind_removes_the_binding(client_for) -> None:
    client = client_for("AX")
    bound = client.ax_bind(orig_num=A, private_num=AX_X[0])
    client.ax_unbind(subscription_id=bound.subscription_id)
    assert _code(lambda: client.ax_query(subscription_id=bound.subscription_id)) == "1016001"
    client.ax_bind(orig_num=A, private_num=AX_X[1])
    client.ax_unbind(private_num=AX_X[1], orig_num=A)
    assert _code(lambda: client.ax_query(orig_num=A)) == "1016001"


def test_an_unknown_ax_binding_cannot_be_unbound(client_for) -> None:
    # spec §5.2.4 names 1011004 for this (its text is UNCONFIRMED).
    assert _code(lambda: client_for("AX").ax_unbind(subscription_id="no-such-binding")) == (
        "1011004"
    )


def test_one_a_holds_at_most_five_x(client_for) -> None:
    client = client_for("AX")
    for number in AX_X[:5]:
        client.ax_bind(orig_num=A, private_num=number)
    with pytest.raises(PlatformError) as caught:
        client.ax_bind(orig_num=A, private_num=AX_X[5])
    assert caught.value.code == "1011003"
    assert "5 X" in caught.value.action_en


def test_the_same_a_and_x_cannot_be_bound_twice(client_for) -> None:
    client = client_for("AX")
    client.ax_bind(orig_num=A, private_num=AX_X[0])
    assert _code(lambda: client.ax_bind(orig_num=A, private_num=AX_X[0])) == "1016002"


def test_an_x_binds_one_a_at_a_time(client_for) -> None:
    client = client_for("AX")
    client.ax_bind(orig_num=A, private_num=AX_X[0])
    with pytest.raises(PlatformError) as caught:
        client.ax_bind(orig_num=A2, private_num=AX_X[0])
    # Which code the platform uses is UNCONFIRMED; it is a permanent refusal either way.
    assert caught.value.permanent


def test_another_modes_app_gets_1010040(client_for) -> None:
    assert _code(lambda: client_for("AXB").ax_query(orig_num=A)) == "1010040"


def test_ax_bind_sends_callee_num_display(client_for, simulator) -> None:
    client_for("AX").ax_bind(orig_num=A, private_num=AX_X[0], callee_num_display="0")
    [bound] = simulator.control.bindings(kind="AX")
    assert bound["data"]["calleeNumDisplay"] == "0"
