"""Every documented push, replayed through the real receiver, signed with AKSK and with WSSE.

The fixtures are the spec's example messages (``privatenumber/tests/fixtures/pushes``). Push
fixtures must be stored with their meaning intact; the answer fixtures (what a customer answers
to a Block push) must be what our receiver answers to the matching push.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.models import CallEvent, CallRecord, SmsRecord
from bindings.models import XNumber
from bindings.tests.factories import BindingFactory
from console.models import Delivery
from console.testing.factories import (
    FIXTURE_APP_KEY,
    FIXTURES,
    ApplicationFactory,
    load_fixture,
    post_push,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Push fixture → (application mode, receiver it is configured on).
PUSHES = {
    "ax_callin.json": ("AX", "status"),
    "ax_disconnect_no_temporary_callee.json": ("AX", "status"),
    "ax_fee.json": ("AX", "fee"),
    "axb_alerting.json": ("AXB", "status"),
    "axb_answer.json": ("AXB", "status"),
    "axb_callin.json": ("AXB", "status"),
    "axb_callout.json": ("AXB", "status"),
    "axb_disconnect.json": ("AXB", "status"),
    "axb_disconnect_busy.json": ("AXB", "status"),
    "axb_fee_recorded.json": ("AXB", "fee"),
    "axe_callin.json": ("AXE", "status"),
    "axe_callout_digitinfo.json": ("AXE", "status"),
    "axe_fee.json": ("AXE", "fee"),
    "axe_fee_extendnum_alias.json": ("AXE", "fee"),
    "axyb_disconnect_failed.json": ("AXYB", "status"),
    "axyb_fee.json": ("AXYB", "fee"),
    "fee_50.json": ("AXB", "fee"),
    "fee_no_binding.json": ("AXB", "fee"),
    "numstatus.json": ("AXB", "xstatus"),
    "sms_block_ax.json": ("AX", "sms"),
    "sms_block_x.json": ("X", "sms"),
    "sms_block_documented.json": ("X", "sms"),
    "sms_notify_documented.json": ("AXB", "sms"),
    "sms_notify_ax.json": ("AX", "sms"),
    "sms_notify_axb.json": ("AXB", "sms"),
    "x_callin_block.json": ("X", "status"),
    "x_callin_notify.json": ("X", "status"),
    "x_fee.json": ("X", "fee"),
}
ANSWERS = {
    "x_block_answer_connect.json",
    "x_block_answer_close.json",
    "sms_block_answer.json",
    "sms_block_answer_unwrapped.json",
    "sms_block_answer_discard.json",
}


def test_every_fixture_is_replayed_here():
    assert {path.name for path in FIXTURES.glob("*.json")} == set(PUSHES) | ANSWERS


def platform_time(text: str) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) if text else None


@pytest.mark.parametrize("scheme", ["AKSK", "WSSE"])
@pytest.mark.parametrize("name", sorted(PUSHES))
def test_a_documented_push_is_stored_with_its_meaning(client, name, scheme):
    # given
    mode, endpoint = PUSHES[name]
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode=mode)
    body = load_fixture(name)
    for info in body.get("numInfo", []):
        XNumber.objects.create(application=application, number=info["number"], city_code="0755")
    # when
    response = post_push(client, endpoint, body, application, scheme=scheme)
    # then
    assert response.status_code == 200, response.content
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.scheme) == ("processed", scheme)
    if "feeLst" in body:
        assert delivery.kind == "fee"
        assert CallRecord.objects.count() == len(body["feeLst"])
        for cdr in body["feeLst"]:
            record = CallRecord.objects.get(icid=cdr["icid"])
            assert record.session_id == cdr["sessionId"]
            assert record.subscription_id == cdr["subscriptionId"]
            assert (record.caller_num, record.fwd_dst_num) == (cdr["callerNum"], cdr["fwdDstNum"])
            assert record.call_in_time == platform_time(cdr["callInTime"])
            assert record.fwd_answer_time == platform_time(cdr["fwdAnswerTime"])
            assert record.call_end_time == platform_time(cdr["callEndTime"])
            assert record.ul_fail_reason == cdr["ulFailReason"]
            assert record.record_flag == cdr["recordFlag"]
            assert record.extend_number == cdr.get("extendNumber", cdr.get("extendNum", ""))
            assert record.no_binding == (not cdr["subscriptionId"] and mode != "X")
    elif "statusInfo" in body:
        event = CallEvent.objects.get()
        info = body["statusInfo"]
        assert (event.event_type, event.session_id) == (body["eventType"], info["sessionId"])
        assert event.timestamp == platform_time(info["timestamp"])
        assert event.state_code == info.get("stateCode")
        assert event.digit_info == info.get("digitInfo", "")
    elif "smsEvent" in body:
        sms = SmsRecord.objects.get()
        assert sms.sms_identifier == body["smsEvent"]["smsIdentifier"]
        assert sms.event == body["smsEvent"]["event"]  # kept verbatim, trailing space and all
        assert sms.notification_mode == body["smsEvent"]["notificationMode"]
        assert sms.send_result == body["smsEvent"]["sendResult"]
        paras = {p["key"]: p["value"] for p in body["smsEvent"]["extInfo"]["extParas"]}
        assert sms.direction == paras["direction"]
    else:
        assert sorted(
            XNumber.objects.values_list("number", "platform_status", "platform_cause")
        ) == [(i["number"], i["status"], i.get("cause", "")) for i in body["numInfo"]]


def test_the_recorded_cdr_keeps_everything_the_recordings_app_needs(client):
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode="AXB")
    post_push(client, "fee", load_fixture("axb_fee_recorded.json"), application)
    record = CallRecord.objects.get()
    assert record.recorded
    assert record.record_object_name == "1200_366_0_20190123091514.wav"
    assert (record.record_bucket_name, record.record_domain) == ("sp-v1", "ostor.huawei.com")
    assert record.record_start_time == datetime(2019, 1, 23, 9, 15, 21, tzinfo=UTC)
    assert record.record_file_download_url.endswith("1200_366_0_20190123091514.wav")
    assert (record.talk_seconds, record.billable_minutes) == (102, 2)


# --- the answer fixtures are what we answer -------------------------------------------------------


def without(data: dict, *keys: str) -> dict:
    return {k: v for k, v in data.items() if k not in keys}


def test_our_connect_answer_is_the_documented_one_for_the_same_binding(client):
    # given the binding the documented answer describes
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode="X", recording_enabled=True)
    documented = load_fixture("x_block_answer_connect.json")
    BindingFactory(
        application=application,
        a_number="+8618800000001",
        b_number=documented["connectInfo"]["calleeNum"],
        x_number=documented["connectInfo"]["displayCalleeNum"],
        max_duration=documented["connectInfo"]["maxDuration"],
        record_flag=True,
        record_hint_tone=documented["connectInfo"]["recordHintTone"],
        user_data=documented["connectInfo"]["userData"],
    )
    # when
    response = post_push(client, "status", load_fixture("x_callin_block.json"), application)
    # then: the same, but for the ring-back tone we do not configure
    assert response.json() == {
        "operation": "connect",
        "connectInfo": without(documented["connectInfo"], "waitVoice"),
    }


def test_our_close_answer_has_the_documented_shape(client):
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode="X", block_call_rule="close")
    response = post_push(client, "status", load_fixture("x_callin_block.json"), application)
    documented = load_fixture("x_block_answer_close.json")
    assert response.json()["operation"] == documented["operation"]
    assert set(response.json()) == set(documented)


def test_our_sms_forward_answer_is_the_documented_one_for_x_mode(client):
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode="X")
    documented = load_fixture("sms_block_answer_unwrapped.json")
    BindingFactory(
        application=application,
        a_number=documented["message"]["calling"],
        b_number=documented["message"]["called"],
        x_number="+8617066660001",
    )
    response = post_push(client, "sms", load_fixture("sms_block_x.json"), application)
    assert response.json() == {"actions": [documented]}


def test_our_sms_forward_answer_is_the_documented_one_for_ax_mode(client):
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode="AX")
    documented = load_fixture("sms_block_answer.json")
    BindingFactory(
        application=application,
        subscription_id="a6e2f3b8-5c1d-4f7a-9e2b-7d8c6a5b4e3f",
        a_number=documented["actions"][0]["message"]["calling"],
        b_number="",
        x_number="+8617012345678",
        temporary_callee=documented["actions"][0]["message"]["called"],
    )
    response = post_push(client, "sms", load_fixture("sms_block_ax.json"), application)
    assert response.json() == documented
    assert SmsRecord.objects.get().forwarded_to == "+8613800000021"


def test_our_sms_discard_answer_is_the_documented_one(client):
    application = ApplicationFactory(app_key=FIXTURE_APP_KEY, mode="X", block_sms_rule="discard")
    response = post_push(client, "sms", load_fixture("sms_block_x.json"), application)
    assert response.json() == load_fixture("sms_block_answer_discard.json")
