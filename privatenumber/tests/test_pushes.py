"""Tests of parsing pushes and Block answers, replaying one captured-style fixture per type.

Every fixture must parse cleanly. Then, for each fixture, broken copies are generated: every
required field removed in turn, and every field given a value of the wrong type. Each broken copy
must fail with a SchemaError naming exactly that field.
"""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, BaseModel

from privatenumber import schemas
from privatenumber.schemas import SchemaError

FIXTURES = Path(__file__).parent / "fixtures" / "pushes"
FIXTURE_NAMES = sorted(path.name for path in FIXTURES.glob("*.json"))


def _parser(name: str) -> Callable[[bytes | str], BaseModel]:
    if name.startswith("x_block_answer"):
        return schemas.parse_callin_block_answer
    if name.startswith("sms_block_answer"):
        return schemas.parse_sms_block_answer
    return schemas.parse_push


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``X | None``, ``list[X]`` or ``Annotated[...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def _keys(field: Any, name: str) -> list[str]:
    if isinstance(field.validation_alias, AliasChoices):
        return [choice for choice in field.validation_alias.choices if isinstance(choice, str)]
    return [field.validation_alias or field.alias or name]


def _wrong_type(value: Any) -> Any:
    if isinstance(value, str):
        return 12345
    if isinstance(value, bool | int):
        return "7"
    return "not-an-object"


def _broken_copies(
    data: dict, model: type[BaseModel], prefix: tuple = (), *, items_to_visit: int = 2
) -> Iterator[tuple[tuple, str, Any]]:
    """Yield (path, how, broken value) for every field of ``data`` as ``model`` reads it."""
    for name, field in model.model_fields.items():
        key = next((key for key in _keys(field, name) if key in data), None)
        if key is None:
            continue
        path = (*prefix, key)
        if field.is_required():
            yield path, "removed", _REMOVED
        yield path, "wrong type", _wrong_type(data[key])
        nested = _nested_model(field.annotation)
        if nested is None:
            continue
        value = data[key]
        if isinstance(value, dict):
            yield from _broken_copies(value, nested, path)
        elif isinstance(value, list):
            # The first and the last item: enough to prove the path names the right index.
            indexes = sorted({0, len(value) - 1})[:items_to_visit]
            for index in indexes:
                if isinstance(value[index], dict):
                    yield from _broken_copies(value[index], nested, (*path, index))


_REMOVED = object()


def _apply(data: Any, path: tuple, value: Any) -> Any:
    broken = copy.deepcopy(data)
    target = broken
    for part in path[:-1]:
        target = target[part]
    if value is _REMOVED:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


def _model_of(name: str, data: dict) -> type[BaseModel]:
    if name.startswith("x_block_answer"):
        return schemas.CallinBlockAnswer
    if name.startswith("sms_block_answer"):
        return schemas.SmsBlockAnswer
    return schemas.push_model_for(data)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_parses_cleanly(name: str) -> None:
    parsed = _parser(name)((FIXTURES / name).read_bytes())
    assert parsed is not None


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_broken_copy_of_a_fixture_names_the_broken_field(name: str) -> None:
    data = _load(name)
    if name == "sms_block_answer_unwrapped.json":
        # The unwrapped form is rewritten to {"actions": [...]}, so paths start at actions.0.
        data = {"actions": [data]}
    model = _model_of(name, data)
    cases = list(_broken_copies(data, model))
    assert cases, "no fields were found to break"
    for path, how, value in cases:
        broken = _apply(data, path, value)
        expected = ".".join(str(part) for part in path)
        with pytest.raises(SchemaError) as caught:
            _parser(name)(json.dumps(broken))
        assert caught.value.field == expected, f"{expected} {how}: got {caught.value}"


def test_the_fixtures_cover_every_push_type_and_mode() -> None:
    kinds = {type(_parser(name)((FIXTURES / name).read_bytes())).__name__ for name in FIXTURE_NAMES}
    assert kinds == {
        "CallEventPush",
        "FeePush",
        "NumStatusPush",
        "SmsPush",
        "CallinBlockAnswer",
        "SmsBlockAnswer",
    }
    service_types = set()
    for name in FIXTURE_NAMES:
        parsed = _parser(name)((FIXTURES / name).read_bytes())
        if isinstance(parsed, schemas.FeePush):
            service_types |= {fee.service_type for fee in parsed.fee_lst}
    assert service_types == {"003", "004", "005", "007"}


def test_it_names_the_item_and_field_of_a_too_long_cdr_value() -> None:
    data = _load("fee_50.json")
    data["feeLst"][3]["callerNum"] = "+86" + "1" * 30
    with pytest.raises(SchemaError) as caught:
        schemas.parse_push(json.dumps(data))
    assert str(caught.value) == "feeLst.3.callerNum: String should have at most 32 characters"
    assert caught.value.field == "feeLst.3.callerNum"
    assert caught.value.problem == "String should have at most 32 characters"


def test_a_cdr_push_holds_at_most_50_cdrs() -> None:
    data = _load("fee_50.json")
    assert len(schemas.parse_push(json.dumps(data)).fee_lst) == 50
    data["feeLst"].append(data["feeLst"][0])
    with pytest.raises(SchemaError) as caught:
        schemas.parse_push(json.dumps(data))
    assert caught.value.field == "feeLst"


def test_a_cdr_push_holds_at_least_one_cdr() -> None:
    with pytest.raises(SchemaError) as caught:
        schemas.parse_push('{"eventType": "fee", "feeLst": []}')
    assert caught.value.field == "feeLst"


def test_a_status_push_holds_1_to_100_numbers() -> None:
    data = _load("numstatus.json")
    data["numInfo"] = data["numInfo"][:1] * 100
    assert len(schemas.parse_push(json.dumps(data)).num_info) == 100
    data["numInfo"].append(data["numInfo"][0])
    with pytest.raises(SchemaError, match=r"^numInfo: "):
        schemas.parse_push(json.dumps(data))


def test_cdr_times_become_aware_utc_datetimes() -> None:
    fee = schemas.parse_push((FIXTURES / "axb_fee_recorded.json").read_bytes()).fee_lst[0]
    assert fee.fwd_answer_time == datetime(2019, 1, 23, 9, 15, 21, tzinfo=UTC)
    assert fee.call_end_time.tzinfo is UTC
    assert fee.recorded
    assert fee.record_object_name == "1200_366_0_20190123091514.wav"


def test_empty_values_the_platform_sends_become_none() -> None:
    fee = schemas.parse_push((FIXTURES / "fee_no_binding.json").read_bytes()).fee_lst[0]
    assert fee.subscription_id is None
    assert fee.fwd_answer_time is None
    assert fee.fwd_dst_num is None
    assert fee.ul_fail_reason == 8014
    assert fee.direction == 2
    assert not fee.recorded


def test_a_malformed_time_is_refused() -> None:
    data = _load("axb_callin.json")
    data["statusInfo"]["timestamp"] = "2019-01-23T09:15:14Z"
    with pytest.raises(SchemaError) as caught:
        schemas.parse_push(json.dumps(data))
    assert str(caught.value) == "statusInfo.timestamp: must be a time like 2019-01-23 09:15:14"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # the pattern's shape with something else than digits: refused in the pattern's words
        ("2019-W01-1 09:15:14", "must be a time like 2019-01-23 09:15:14"),
        ("2019-01-23 0915140.", "must be a time like 2019-01-23 09:15:14"),
        ("2019-0a-23 09:15:14", "must be a time like 2019-01-23 09:15:14"),
        ("٢٠١٩-01-23 09:15:14", "must be a time like 2019-01-23 09:15:14"),
        ("2019-01-23 09:15:14\n", "must be a time like 2019-01-23 09:15:14"),
        # digits where they belong, but no such time: strptime's words
        ("2019-13-01 00:00:00", "time data '2019-13-01 00:00:00' does not match format"),
        ("2019-02-30 00:00:00", "day is out of range for month"),
    ],
)
def test_a_time_shaped_but_wrong_is_refused_with_what_is_wrong(text: str, error: str) -> None:
    data = _load("axb_callin.json")
    data["statusInfo"]["timestamp"] = text
    with pytest.raises(SchemaError) as caught:
        schemas.parse_push(json.dumps(data))
    assert str(caught.value).startswith(f"statusInfo.timestamp: {error}")


def test_a_time_is_read_as_utc_to_the_second() -> None:
    data = _load("axb_callin.json")
    data["statusInfo"]["timestamp"] = "9999-12-31 23:59:59"
    push = schemas.parse_push(json.dumps(data))
    assert push.status_info.timestamp == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert push.status_info.timestamp.tzinfo is UTC


def test_the_extension_is_read_under_both_names() -> None:
    by_table = schemas.parse_push((FIXTURES / "axe_fee.json").read_bytes()).fee_lst[0]
    by_sample = schemas.parse_push((FIXTURES / "axe_fee_extendnum_alias.json").read_bytes())
    assert by_table.extend_number == "0123"
    assert by_sample.fee_lst[0].extend_number == "0123"
    assert by_sample.to_wire()["feeLst"][0]["extendNumber"] == "0123"


def test_unknown_fields_in_pushes_are_ignored() -> None:
    data = _load("axb_fee_recorded.json")
    data["newTopLevel"] = 1
    data["feeLst"][0]["areaCode"] = "0755"
    data["feeLst"][0]["callDuration"] = 102
    fee = schemas.parse_push(json.dumps(data)).fee_lst[0]
    assert "areaCode" not in fee.to_wire()


def test_a_wrong_integer_type_is_refused_even_when_it_looks_like_a_number() -> None:
    data = _load("axb_disconnect.json")
    data["statusInfo"]["stateCode"] = "8102"
    with pytest.raises(SchemaError, match=r"^statusInfo\.stateCode: Input should be a valid int"):
        schemas.parse_push(json.dumps(data))


def test_the_axe_callin_carries_no_subscription_id() -> None:
    push = schemas.parse_push((FIXTURES / "axe_callin.json").read_bytes())
    assert push.event_type == "callin"
    assert push.status_info.subscription_id is None


def test_the_axe_callout_carries_the_digits() -> None:
    push = schemas.parse_push((FIXTURES / "axe_callout_digitinfo.json").read_bytes())
    assert push.status_info.digit_info == "0123"


def test_an_x_mode_block_callin_is_recognised() -> None:
    assert schemas.parse_push((FIXTURES / "x_callin_block.json").read_bytes()).is_block
    assert not schemas.parse_push((FIXTURES / "x_callin_notify.json").read_bytes()).is_block
    assert not schemas.parse_push((FIXTURES / "axb_callin.json").read_bytes()).is_block


def test_an_unknown_notify_mode_is_refused() -> None:
    data = _load("x_callin_block.json")
    data["statusInfo"]["notifyMode"] = "Hold"
    with pytest.raises(SchemaError, match=r"^statusInfo\.notifyMode: "):
        schemas.parse_push(json.dumps(data))


def test_sms_times_keep_their_milliseconds() -> None:
    push = schemas.parse_push((FIXTURES / "sms_notify_axb.json").read_bytes())
    assert push.sms_event.time_stamp == datetime(2018, 9, 13, 9, 46, 16, 23000, tzinfo=UTC)
    assert push.to_wire()["smsEvent"]["timeStamp"] == "2018-09-13T09:46:16.023Z"
    assert push.sms_event.event == "Text SMS "


def test_a_block_sms_notice_is_recognised() -> None:
    assert schemas.parse_push((FIXTURES / "sms_block_ax.json").read_bytes()).is_block
    assert not schemas.parse_push((FIXTURES / "sms_notify_ax.json").read_bytes()).is_block


def test_sms_content_in_chinese_is_kept() -> None:
    push = schemas.parse_push((FIXTURES / "sms_notify_ax.json").read_bytes())
    assert push.sms_event.sms_content == "您好，快递已放在门卫处"


def test_the_unwrapped_sms_answer_is_read_as_one_action() -> None:
    answer = schemas.parse_sms_block_answer(
        (FIXTURES / "sms_block_answer_unwrapped.json").read_bytes()
    )
    assert len(answer.actions) == 1
    assert answer.to_wire() == {
        "actions": [
            {
                "operation": "vNumberRoute",
                "message": {"called": "+8613300000003", "calling": "+8618800000001"},
            }
        ]
    }


def test_a_forwarding_sms_answer_needs_a_message() -> None:
    with pytest.raises(SchemaError) as caught:
        schemas.parse_sms_block_answer('{"actions": [{"operation": "vNumberRoute"}]}')
    assert caught.value.field == "actions.0"
    assert caught.value.problem == "message is required with operation vNumberRoute"


def test_a_connect_answer_needs_connect_info() -> None:
    with pytest.raises(SchemaError, match="connectInfo is required"):
        schemas.parse_callin_block_answer('{"operation": "connect"}')


def test_a_connect_answer_refuses_a_max_duration_over_1440_minutes() -> None:
    data = _load("x_block_answer_connect.json")
    data["connectInfo"]["maxDuration"] = 7200
    with pytest.raises(SchemaError) as caught:
        schemas.parse_callin_block_answer(json.dumps(data))
    assert (
        str(caught.value) == "connectInfo.maxDuration: Input should be less than or equal to 1440"
    )


def test_block_answers_refuse_unknown_fields() -> None:
    with pytest.raises(SchemaError) as caught:
        schemas.parse_callin_block_answer('{"operation": "close", "closeInfo": {}, "extra": 1}')
    assert caught.value.field == "extra"


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        pytest.param(b"\xff\xfe{}", "body", "not UTF-8", id="not-utf8"),
        pytest.param("{not json", "body", "not JSON", id="not-json"),
        pytest.param("[1, 2]", "body", "must be a JSON object", id="array"),
        pytest.param("{}", "eventType", "Field required", id="no-event-type"),
        pytest.param('{"eventType": "hangup"}', "eventType", "unknown event type", id="unknown"),
        pytest.param('{"eventType": 5}', "eventType", "unknown event type", id="number"),
        pytest.param('{"eventType": "callin"}', "statusInfo", "Field required", id="no-status"),
    ],
)
def test_bodies_that_are_not_pushes_are_refused(
    body: bytes | str, field: str, problem: str
) -> None:
    with pytest.raises(SchemaError) as caught:
        schemas.parse_push(body)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_survives_a_round_trip_through_its_model(name: str) -> None:
    parsed = _parser(name)((FIXTURES / name).read_bytes())
    again = _parser(name)(json.dumps(parsed.to_wire()))
    assert again == parsed


def test_broken_copies_were_really_generated() -> None:
    # Guard against the generator silently finding nothing in nested lists.
    data = _load("fee_50.json")
    paths = {".".join(map(str, path)) for path, _, _ in _broken_copies(data, schemas.FeePush)}
    assert "feeLst.0.callerNum" in paths
    assert "feeLst.49.sessionId" in paths


def test_the_documented_sms_notice_carries_its_send_result_and_ext_params() -> None:
    notice = schemas.parse_push((FIXTURES / "sms_notify_documented.json").read_bytes())
    assert notice.sms_event.send_result == 2
    assert (notice.sms_event.split_num, notice.sms_event.direction) == ("0", "2")
    block = schemas.parse_push((FIXTURES / "sms_block_documented.json").read_bytes())
    assert (block.sms_event.split_num, block.sms_event.direction) == ("2", "1")
    assert block.sms_event.event == "TextSMS"


def test_an_sms_notice_without_send_result_is_refused_naming_it() -> None:
    data = _load("sms_notify_documented.json")
    del data["smsEvent"]["sendResult"]
    with pytest.raises(SchemaError) as refused:
        schemas.parse_push(json.dumps(data))
    assert refused.value.field == "smsEvent.sendResult"
