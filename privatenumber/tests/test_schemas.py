"""Tests of the request and response models of privatenumber.schemas (spec §5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from privatenumber import schemas
from privatenumber.schemas import SchemaError, parse_model

A = "+8613800000001"
B = "+8613900000002"
X = "+8617012340001"


def _refused(model: type, data: dict) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        parse_model(model, data)
    return caught.value


# Numbers


@pytest.mark.parametrize(
    "number",
    [
        "+8613800000001",  # mobile
        "+8617012340001",  # virtual-operator range
        "+861088880001",  # Beijing, 8 digits
        "+862088880001",  # Guangzhou, 8 digits
        "+8675528000001",  # Shenzhen, 8 digits
        "+865718888001",  # Hangzhou, 7 digits
    ],
)
def test_global_format_numbers_are_accepted(number: str) -> None:
    assert schemas.is_global_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "13800000001",  # no country code
        "8613800000001",  # no plus
        "+86013800000001",  # leading 0
        "+8607552800000",  # area code with its 0
        "+861380000000",  # mobile one digit short
        "+86138000000012",  # mobile one digit long
        "+85213800000001",  # not mainland China
        "+86138 0000 0001",
        "+86400800800",  # 400 number
        "",
    ],
)
def test_other_numbers_are_refused(number: str) -> None:
    assert not schemas.is_global_number(number)


def test_a_bind_with_a_local_number_names_the_field() -> None:
    error = _refused(schemas.AxbBindRequest, {"callerNum": "13800000001", "calleeNum": B})
    assert error.field == "callerNum"
    assert error.problem.startswith("must be a global-format number")


# Wire format


def test_the_wire_body_uses_the_spec_names_and_leaves_out_absent_fields() -> None:
    request = schemas.AxbBindRequest(
        caller_num=A,
        callee_num=B,
        area_code="0755",
        area_match_mode="1",
        record_flag="true",
        record_hint_tone="hint.wav",
        pre_voice=schemas.PlayInfo(caller_hint_tone="a.wav"),
        duration=3600,
    )
    assert request.model_dump(by_alias=True, exclude_none=True) == request.to_wire()
    assert request.to_wire() == {
        "areaCode": "0755",
        "areaMatchMode": "1",
        "callerNum": A,
        "calleeNum": B,
        "duration": 3600,
        "recordFlag": "true",
        "recordHintTone": "hint.wav",
        "preVoice": {"callerHintTone": "a.wav"},
    }


def test_requests_refuse_unknown_fields() -> None:
    error = _refused(schemas.AxbBindRequest, {"callerNum": A, "calleeNum": B, "calleNum": B})
    assert error.field == "calleNum"


def test_models_are_immutable() -> None:
    request = schemas.AxbBindRequest(caller_num=A, callee_num=B)
    with pytest.raises(ValidationError):
        request.caller_num = B  # type: ignore[misc]


# Ranges and enums


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", -1),
        ("duration", 7776001),
        ("duration", "3600"),
        ("duration", True),
        ("maxDuration", 1441),
        ("callDirection", 3),
        ("recordFlag", "yes"),
        ("recordFlag", 1),  # a JSON boolean is read (Huawei's AXYB sample); a number is not
        ("privateSms", "TRUE"),
        ("areaMatchMode", "2"),
        ("areaCode", "755"),
        ("recordHintTone", "x" * 129),
        ("userData", ""),
        ("userData", "x" * 257),
    ],
)
def test_axb_bind_refuses_values_outside_the_spec(field: str, value: object) -> None:
    error = _refused(schemas.AxbBindRequest, {"callerNum": A, "calleeNum": B, field: value})
    assert error.field == field


@pytest.mark.parametrize(("duration", "max_duration"), [(0, 0), (7776000, 1440)])
def test_axb_bind_accepts_the_limits_of_the_ranges(duration: int, max_duration: int) -> None:
    request = schemas.AxbBindRequest(
        caller_num=A, callee_num=B, duration=duration, max_duration=max_duration
    )
    assert request.duration == duration


@pytest.mark.parametrize(
    ("user_data", "problem"),
    [
        ("{order:1}", "must not contain { or }"),
        ("订单1", "must not contain Chinese characters (Base64-encode them)"),
        ("order，1", "must not contain Chinese characters (Base64-encode them)"),
    ],
)
def test_user_data_refuses_braces_and_chinese(user_data: str, problem: str) -> None:
    error = _refused(
        schemas.AxbBindRequest, {"callerNum": A, "calleeNum": B, "userData": user_data}
    )
    assert str(error) == f"userData: {problem}"


def test_user_data_takes_base64() -> None:
    request = schemas.AxbBindRequest(caller_num=A, callee_num=B, user_data="6K6i5Y2VMQ==")
    assert request.user_data == "6K6i5Y2VMQ=="


def test_a_recording_tone_needs_recording_on_at_bind() -> None:
    error = _refused(
        schemas.AxbBindRequest, {"callerNum": A, "calleeNum": B, "recordHintTone": "hint.wav"}
    )
    assert error.problem == 'recordHintTone needs recordFlag "true"'


def test_a_recording_tone_may_be_changed_alone_at_modify() -> None:
    request = schemas.AxbModifyRequest(subscription_id="s-1", record_hint_tone="hint.wav")
    assert request.to_wire() == {"subscriptionId": "s-1", "recordHintTone": "hint.wav"}
    error = _refused(
        schemas.AxbModifyRequest,
        {"subscriptionId": "s-1", "recordFlag": "false", "recordHintTone": "hint.wav"},
    )
    assert error.problem == 'recordHintTone needs recordFlag "true"'


def test_a_last_minute_voice_needs_a_call_limit() -> None:
    error = _refused(
        schemas.AxbBindRequest, {"callerNum": A, "calleeNum": B, "lastMinVoice": "1min.wav"}
    )
    assert error.problem == "lastMinVoice needs a non-zero maxDuration"
    request = schemas.AxbBindRequest(
        caller_num=A, callee_num=B, last_min_voice="1min.wav", max_duration=30
    )
    assert request.max_duration == 30


def test_axb_modify_needs_the_subscription_id() -> None:
    assert _refused(schemas.AxbModifyRequest, {"duration": 60}).field == "subscriptionId"


# AXB query and unbind


def test_axb_query_needs_the_x_number_or_the_binding() -> None:
    assert "one of relationNum or subscriptionId" in _refused(schemas.AxbQueryParams, {}).problem


@pytest.mark.parametrize("page_size", [9, 101])
def test_axb_query_page_size_is_10_to_100(page_size: int) -> None:
    error = _refused(schemas.AxbQueryParams, {"relationNum": X, "pageSize": page_size})
    assert error.field == "pageSize"


def test_axb_query_parameters_read_from_a_url_are_converted() -> None:
    params = parse_model(schemas.AxbQueryParams, {"relationNum": X, "pageIndex": "2"})
    assert params.page_index == 2
    assert params.to_wire() == {"relationNum": X, "pageIndex": 2}


def test_axb_unbind_needs_the_binding_or_the_x_number() -> None:
    assert "one of subscriptionId or relationNum" in _refused(schemas.AxbUnbindParams, {}).problem


# AX


def test_ax_bind_by_city_fills_the_private_number_type() -> None:
    request = schemas.AxBindRequest(orig_num=A, area_code="010")
    assert request.to_wire() == {
        "origNum": A,
        "privateNumType": schemas.AX_PRIVATE_NUM_TYPE,
        "areaCode": "010",
    }


def test_ax_bind_to_a_given_x_sends_no_type() -> None:
    assert "privateNumType" not in schemas.AxBindRequest(orig_num=A, private_num=X).to_wire()


def test_ax_bind_area_match_mode_needs_an_area_code() -> None:
    error = _refused(schemas.AxBindRequest, {"origNum": A, "areaMatchMode": "1"})
    assert error.problem == "areaMatchMode needs areaCode"


def test_ax_bind_turn_flag_is_on_or_off() -> None:
    assert _refused(schemas.AxBindRequest, {"origNum": A, "turnFlag": "1"}).field == "turnFlag"


def test_ax_modify_needs_private_sms() -> None:
    error = _refused(schemas.AxModifyRequest, {"subscriptionId": "s-1"})
    assert error.problem == "privateSms is required"


def test_ax_modify_finds_the_binding_by_both_numbers() -> None:
    request = schemas.AxModifyRequest(orig_num=A, private_num=X, private_sms="false")
    assert request.to_wire() == {"origNum": A, "privateNum": X, "privateSms": "false"}
    error = _refused(schemas.AxModifyRequest, {"origNum": A, "privateSms": "true"})
    assert error.problem == "origNum and privateNum must be given together"


def test_ax_query_takes_exactly_one_parameter() -> None:
    assert parse_model(schemas.AxQueryParams, {"origNum": A}).orig_num == A
    assert _refused(schemas.AxQueryParams, {}).problem.startswith("exactly one")
    assert _refused(schemas.AxQueryParams, {"origNum": A, "privateNum": X}).problem.startswith(
        "exactly one"
    )


def test_ax_unbind_needs_the_binding_or_the_x_number() -> None:
    error = _refused(schemas.AxUnbindParams, {"origNum": A})
    assert error.problem == "one of subscriptionId or privateNum is required"


@pytest.mark.parametrize("duration", [0, 259201])
def test_a_temporary_callee_lasts_1_to_259200_seconds(duration: int) -> None:
    data = {"origNum": A, "privateNum": X, "calleeNum": B, "duration": duration}
    assert _refused(schemas.AxTemporaryCalleeRequest, data).field == "duration"


def test_a_temporary_callee_differs_from_a() -> None:
    data = {"origNum": A, "privateNum": X, "calleeNum": A}
    assert _refused(schemas.AxTemporaryCalleeRequest, data).problem == (
        "calleeNum must differ from origNum"
    )


# AXE


def test_axe_callback_number_and_tone_are_mutually_exclusive() -> None:
    data = {"bindNum": A, "callbackNum": B, "callbackTone": "cb.wav"}
    assert _refused(schemas.AxeBindRequest, data).problem == (
        "callbackNum and callbackTone are mutually exclusive"
    )
    data = {"subscriptionId": "s-1", "callbackNum": B, "callbackTone": "cb.wav"}
    assert _refused(schemas.AxeModifyRequest, data).problem == (
        "callbackNum and callbackTone are mutually exclusive"
    )


def test_axe_display_mode_is_read_under_both_names_and_sent_as_display_num_mode() -> None:
    request = parse_model(schemas.AxeBindRequest, {"bindNum": A, "calleeNumDisplay": "0"})
    assert request.display_num_mode == "0"
    assert request.to_wire() == {"bindNum": A, "displayNumMode": "0"}


@pytest.mark.parametrize("extension", ["12345", "12a", ""])
def test_axe_extensions_are_1_to_4_digits(extension: str) -> None:
    error = _refused(schemas.AxeBindRequest, {"bindNum": A, "extendNum": extension})
    assert error.field == "extendNum"


def test_axe_time_unit_is_hours_or_minutes() -> None:
    assert _refused(schemas.AxeBindRequest, {"bindNum": A, "timeUnit": "2"}).field == "timeUnit"


@pytest.mark.parametrize("model", [schemas.AxeQueryParams, schemas.AxeUnbindParams])
def test_axe_x_number_and_extension_go_together(model: type) -> None:
    assert _refused(model, {"virtualNum": X}).problem == (
        "virtualNum and extendNum must be given together"
    )
    assert parse_model(model, {"virtualNum": X, "extendNum": "0123"}).extend_num == "0123"


def test_axe_v2_cursor_has_the_documented_pattern() -> None:
    params = schemas.AxeQueryV2Params(cursor=schemas.AXE_V2_FIRST_CURSOR, limit=100)
    assert params.to_wire() == {"cursor": "0000000000000_0", "limit": 100}
    assert _refused(schemas.AxeQueryV2Params, {"cursor": "abc"}).field == "cursor"
    assert _refused(schemas.AxeQueryV2Params, {"limit": 0}).field == "limit"


# AXYB


@pytest.mark.parametrize("duration", [0, 60, 7776000])
def test_axyb_lifetimes_are_zero_or_60_to_7776000(duration: int) -> None:
    request = schemas.AxybBindAxRequest(orig_num=A, duration=duration, yb_duration=duration)
    assert request.duration == duration


@pytest.mark.parametrize("duration", [1, 59, 7776001])
def test_axyb_lifetimes_outside_the_range_are_refused(duration: int) -> None:
    error = _refused(schemas.AxybBindAxRequest, {"origNum": A, "ybDuration": duration})
    assert error.field == "ybDuration"
    assert error.problem == "must be 0 or between 60 and 7776000 seconds"


def test_the_second_axyb_step_needs_the_binding_and_b_as_orig_num() -> None:
    assert _refused(schemas.AxybBindYbRequest, {"origNum": B}).field == "subscriptionId"
    request = schemas.AxybBindYbRequest(subscription_id="s-1", orig_num=B, area_code="028")
    assert request.to_wire() == {"origNum": B, "subscriptionId": "s-1", "areaCode": "028"}


def test_an_axyb_bind_names_no_x_and_no_y() -> None:
    assert _refused(schemas.AxybBindAxRequest, {"origNum": A, "numX": X}).field == "numX"
    assert _refused(schemas.AxybBindAxRequest, {"origNum": A, "areaMatchMode": "1"}).field == (
        "body"
    )


def test_record_flag_as_a_json_boolean_is_read_and_sent_as_the_string() -> None:
    request = schemas.AxybBindAxRequest(orig_num=A, record_flag=True)
    assert request.to_wire()["recordFlag"] == "true"
    assert schemas.AxbBindRequest(caller_num=A, callee_num=B, record_flag=False).record_flag == (
        "false"
    )


def test_axyb_parameters_carry_the_app_key_under_its_own_name() -> None:
    params = schemas.AxybQueryParams(app_key="key", relation_num=X)
    assert params.to_wire() == {"app_key": "key", "relationNum": X}


# Stop call and recordings


def test_stop_call_sends_the_call_stop_signal_and_a_lower_case_sessionid() -> None:
    request = schemas.StopCallRequest(session_id="1200_366@host")
    assert request.to_wire() == {"signal": "call_stop", "sessionid": "1200_366@host"}


def test_an_ax_bind_carries_callee_num_display() -> None:
    request = schemas.AxBindRequest(orig_num=A, private_num=X, callee_num_display="0")
    assert request.to_wire()["calleeNumDisplay"] == "0"
    assert _refused(schemas.AxBindRequest, {"origNum": A, "calleeNumDisplay": "2"}).field == (
        "calleeNumDisplay"
    )


def test_axe_binding_count_parameters() -> None:
    assert schemas.AxeBindingCountParams(number=X).to_wire() == {"number": X}
    paged = schemas.AxeBindingCountParams(cursor=schemas.AXE_COUNT_FIRST_CURSOR, limit=100)
    assert paged.to_wire() == {"cursor": "0", "limit": 100}
    assert _refused(schemas.AxeBindingCountParams, {"cursor": "12_3"}).field == "cursor"
    assert _refused(schemas.AxeBindingCountParams, {"limit": 101}).field == "limit"


def test_an_axe_binding_count_answer_without_its_list_is_refused() -> None:
    answer = parse_model(
        schemas.AxeBindingCountResponse,
        {"resultcode": "0", "resultdesc": "Success", "numberList": [{"number": X, "bindCount": 7}]},
    )
    assert (answer.number_list[0].number, answer.number_list[0].bind_count) == (X, 7)
    assert answer.next_cursor is None
    with pytest.raises(SchemaError) as missing:
        parse_model(schemas.AxeBindingCountResponse, {"resultcode": "0", "resultdesc": "Success"})
    assert missing.value.field == "numberList"


def test_recording_parameters_are_required() -> None:
    assert _refused(schemas.RecordingUrlParams, {"fileName": "a.wav"}).field == "recordDomain"


# Responses


def test_responses_ignore_fields_they_do_not_know() -> None:
    response = parse_model(
        schemas.AxBindResponse,
        {
            "resultcode": "0",
            "resultdesc": "Success",
            "origNum": A,
            "privateNum": X,
            "subscriptionId": "s-1",
            "somethingNew": True,
        },
    )
    assert response.subscription_id == "s-1"
    assert response.result_code == "0"


def test_an_ax_bind_answer_without_the_x_number_is_refused() -> None:
    data = {"resultcode": "0", "resultdesc": "Success", "origNum": A, "subscriptionId": "s-1"}
    assert _refused(schemas.AxBindResponse, data).field == "privateNum"


def test_an_axb_query_answer_lists_its_bindings() -> None:
    response = parse_model(
        schemas.AxbQueryResponse,
        {
            "resultcode": "0",
            "resultdesc": "Success",
            "totalCount": 1,
            "pageIndex": 1,
            "pageSize": 50,
            "relationNumList": [
                {
                    "subscriptionId": "s-1",
                    "relationNum": X,
                    "callerNum": A,
                    "calleeNum": B,
                    "recordFlag": "false",
                    "subscribeTime": "2024-05-01 08:00:00",
                }
            ],
        },
    )
    binding = response.relation_num_list[0]
    assert binding.subscribe_time == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert response.to_wire()["relationNumList"][0]["subscribeTime"] == "2024-05-01 08:00:00"


def test_an_axe_v1_query_answer_is_flat() -> None:
    response = parse_model(
        schemas.AxeQueryResponse,
        {
            "resultcode": "0",
            "resultdesc": "Success",
            "subscriptionId": "s-1",
            "virtualNum": X,
            "extendNum": "0123",
            "bindNum": A,
            "displayNumMode": "0",
            "bindExpiredTime": 24,
        },
    )
    assert response.extend_num == "0123"
    assert response.result_code == "0"


def test_an_axyb_query_answer_keeps_durations_as_documented_strings() -> None:
    response = parse_model(
        schemas.AxybQueryResponse,
        {
            "resultcode": "0",
            "resultdesc": "Success",
            "xyRelationNumList": [
                {"bindId": "s-1", "numA": A, "numX": X, "duration": "0", "ybDuration": "3600"}
            ],
        },
    )
    assert response.xy_relation_num_list[0].yb_duration == "3600"


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (schemas.AxbBindRequest, {"callerNum": "+86１３８00000001", "calleeNum": B}, "callerNum"),
        (schemas.AxbBindRequest, {"callerNum": A, "calleeNum": B, "areaCode": "０755"}, "areaCode"),
        (schemas.AxeBindRequest, {"bindNum": A, "extendNum": "１２"}, "extendNum"),
    ],
)
def test_full_width_digits_are_not_digits(model: type, data: dict, field: str) -> None:
    assert _refused(model, data).field == field
