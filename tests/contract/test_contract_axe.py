"""Contract: AXE interfaces (spec §5.3) of the client against the simulator."""

from __future__ import annotations

import pytest

from privatenumber import schemas
from privatenumber.errors import PlatformError
from tests.contract.conftest import AXE_SMALL_X, AXE_X

pytestmark = pytest.mark.simulator

A = "+8613800000001"
A2 = "+8613800000002"
B = "+8613900000002"


def _code(call) -> str:
    with pytest.raises(PlatformError) as caught:
        call()
    return caught.value.code


def test_axe_bind_allocates_an_extension_of_the_apps_length(client_for) -> None:
    answer = client_for("AXE").axe_bind(bind_num=A, virtual_num=AXE_X[0])
    assert isinstance(answer, schemas.AxeBindResponse)
    assert answer.subscription_id
    assert answer.extend_num is not None
    assert len(answer.extend_num) == 4
    assert answer.extend_num.isdigit()


def test_axe_bind_takes_a_chosen_extension(client_for) -> None:
    answer = client_for("AXE").axe_bind(bind_num=A, virtual_num=AXE_X[0], extend_num="0123")
    assert answer.extend_num == "0123"


def test_axe_query_v1_finds_the_binding_by_id_and_by_x_and_extension(client_for) -> None:
    client = client_for("AXE")
    bound = client.axe_bind(
        bind_num=A,
        virtual_num=AXE_X[0],
        extend_num="0123",
        display_num_mode="0",
        callback_num=B,
        time_unit="1",
        bind_expired_time=60,
    )
    for answer in (
        client.axe_query(subscription_id=bound.subscription_id),
        client.axe_query(virtual_num=AXE_X[0], extend_num="0123"),
    ):
        assert isinstance(answer, schemas.AxeQueryResponse)
        assert (answer.subscription_id, answer.bind_num, answer.extend_num) == (
            bound.subscription_id,
            A,
            "0123",
        )
        assert (answer.callback_num, answer.time_unit, answer.bind_expired_time) == (B, "1", 60)


def test_axe_query_v2_pages_with_a_cursor(client_for) -> None:
    client = client_for("AXE")
    ids = {
        client.axe_bind(bind_num=f"+8613800000{index:03d}", virtual_num=AXE_X[0]).subscription_id
        for index in range(3)
    }
    first = client.axe_query_v2(cursor=schemas.AXE_V2_FIRST_CURSOR, limit=2)
    assert len(first.bind_list) == 2
    assert first.next_cursor is not None
    second = client.axe_query_v2(cursor=first.next_cursor, limit=2)
    assert len(second.bind_list) == 1
    assert second.next_cursor is None
    assert {b.subscription_id for b in [*first.bind_list, *second.bind_list]} == ids


def test_axe_modify_changes_the_binding(client_for) -> None:
    client = client_for("AXE")
    bound = client.axe_bind(bind_num=A, virtual_num=AXE_X[0], callback_num=B)
    client.axe_modify(subscription_id=bound.subscription_id, callback_tone="callback.wav")
    answer = client.axe_query(subscription_id=bound.subscription_id)
    assert answer.callback_tone == "callback.wav"


def test_axe_unbind_removes_the_binding(client_for) -> None:
    client = client_for("AXE")
    bound = client.axe_bind(bind_num=A, virtual_num=AXE_X[0], extend_num="0456")
    client.axe_unbind(virtual_num=AXE_X[0], extend_num="0456")
    assert _code(lambda: client.axe_query(subscription_id=bound.subscription_id)) == "1016001"
    assert _code(lambda: client.axe_unbind(subscription_id=bound.subscription_id)) == "1016001"


def test_an_extension_is_taken_once_per_x(client_for) -> None:
    client = client_for("AXE")
    client.axe_bind(bind_num=A, virtual_num=AXE_X[0], extend_num="0123")
    with pytest.raises(PlatformError) as caught:
        client.axe_bind(bind_num=A2, virtual_num=AXE_X[0], extend_num="0123")
    assert caught.value.code == "1020167"  # "No idle extend Number." (spec §7)
    # The same extension on another X is fine.
    assert client.axe_bind(bind_num=A2, virtual_num=AXE_X[1], extend_num="0123").subscription_id


def test_an_extension_must_have_the_apps_length(client_for) -> None:
    client = client_for("AXE")
    assert _code(lambda: client.axe_bind(bind_num=A, virtual_num=AXE_X[0], extend_num="12")) == (
        "1010002"
    )


def test_a_one_digit_x_holds_nine_extensions(client_for) -> None:
    client = client_for("AXE1")
    extensions = {
        client.axe_bind(bind_num=f"+8613800000{index:03d}", virtual_num=AXE_SMALL_X).extend_num
        for index in range(9)
    }
    assert extensions == {str(digit) for digit in range(1, 10)}
    with pytest.raises(PlatformError) as caught:
        client.axe_bind(bind_num=B, virtual_num=AXE_SMALL_X)
    assert (caught.value.code, caught.value.permanent) == ("1020167", True)


def test_no_free_x_in_the_city_is_1012008_when_strict(client_for) -> None:
    client = client_for("AXE")
    assert _code(lambda: client.axe_bind(bind_num=A, area_code="010", area_match_mode="0")) == (
        "1012008"
    )
    assert client.axe_bind(bind_num=A, area_code="0571").subscription_id


def test_another_modes_app_gets_1010040(client_for) -> None:
    assert _code(lambda: client_for("AXB").axe_query(subscription_id="s-1")) == "1010040"


def test_axe_binding_count_counts_one_x_and_lists_them_all(client_for) -> None:
    client = client_for("AXE")
    for index in range(3):
        client.axe_bind(bind_num=f"+8613800001{index:03d}", virtual_num=AXE_X[0])
    [single] = client.axe_binding_count(AXE_X[0]).number_list
    assert (single.number, single.bind_count) == (AXE_X[0], 3)
    counted, cursor = {}, schemas.AXE_COUNT_FIRST_CURSOR
    while cursor:
        page = client.axe_binding_count(cursor=cursor, limit=1)
        counted.update({item.number: item.bind_count for item in page.number_list})
        cursor = page.next_cursor
    assert counted == {AXE_X[0]: 3, AXE_X[1]: 0}
