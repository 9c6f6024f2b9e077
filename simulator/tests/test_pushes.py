"""Pushes: call events, CDRs, SMS notices and X-mode Block calls, signed as the platform signs."""

from __future__ import annotations

from typing import Any

import pytest

from privatenumber.auth import Scheme, verify_headers
from simulator.tests.conftest import AX_URI, AXB_URI, AXE_URI, AXYB_URI, STOP_URI, Api, app_config

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613800000002"
C = "+8613800000003"
X = "+8617000000001"


def _bind_axb(api: Any, **extra: Any) -> dict[str, Any]:
    return api("AXB").ok(
        "POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": X, **extra}
    )


def test_an_answered_call_pushes_five_signed_events_then_a_cdr(
    sim: Any, api: Any, apps: dict[str, Any], receiver: Any
) -> None:
    bound = _bind_axb(api, userData="order-7")
    call = sim.control.place_call(A, X, duration=42)
    events = receiver.wait("/status", 5)
    assert [e.body["eventType"] for e in events] == [
        "callin",
        "callout",
        "alerting",
        "answer",
        "disconnect",
    ]
    secret = apps["AXB"]["app_secret"]
    for event in events:
        verified = verify_headers(
            event.headers, lambda key: secret if key == apps["AXB"]["app_key"] else None
        )
        assert verified.scheme is Scheme.AKSK
        assert event.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert event.body["statusInfo"]["sessionId"] == call["sessionId"]
        assert event.body["statusInfo"]["subscriptionId"] == bound["subscriptionId"]
    callin, callout, *_, disconnect = (e.body["statusInfo"] for e in events)
    assert (callin["caller"], callin["called"], callin["userData"]) == (A, X, "order-7")
    assert (callout["caller"], callout["called"]) == (X, B)
    assert (disconnect["stateCode"], disconnect["stateDesc"]) == (0, "The user releases the call.")
    [fee] = receiver.wait("/fee", 1)
    [cdr] = fee.body["feeLst"]
    assert fee.body["eventType"] == "fee"
    assert (cdr["direction"], cdr["callerNum"], cdr["calleeNum"], cdr["fwdDstNum"]) == (1, A, X, B)
    assert (cdr["serviceType"], cdr["ulFailReason"], cdr["userData"]) == ("004", 0, "order-7")
    assert cdr["fwdAnswerTime"] < cdr["callEndTime"]


@pytest.mark.parametrize(
    ("outcome", "stages", "cause", "release", "q850"),
    [
        ("busy", ["callin", "callout", "disconnect"], 8102, 8102, 17),
        ("no_answer", ["callin", "callout", "alerting", "disconnect"], 8101, 8101, 19),
        ("rejected", ["callin", "callout", "alerting", "disconnect"], 7503, 7503, 21),
        ("power_off", ["callin", "callout", "disconnect"], 8104, 8104, 20),
        ("no_binding", ["callin", "disconnect"], 8014, 8014, 0),
    ],
)
def test_failed_calls_skip_stages_and_explain_themselves(
    sim: Any,
    api: Any,
    receiver: Any,
    outcome: str,
    stages: list[str],
    cause: int,
    release: int,
    q850: int,
) -> None:
    _bind_axb(api)
    sim.control.place_call(B, X, outcome)
    events = receiver.wait("/status", len(stages))
    assert [e.body["eventType"] for e in events] == stages
    assert events[-1].body["statusInfo"]["stateCode"] == cause
    [fee] = receiver.wait("/fee", 1)
    [cdr] = fee.body["feeLst"]
    assert (cdr["ulFailReason"], cdr["fwdUnaswRsn"]) == (release, q850)
    assert "fwdAnswerTime" not in cdr
    assert cdr["direction"] == (2 if outcome == "no_binding" else 0)


def test_a_call_direction_not_allowed_is_released_with_8016(
    sim: Any, api: Any, receiver: Any
) -> None:
    _bind_axb(api, callDirection=1)
    result = sim.control.place_call(B, X)
    assert result["stateCode"] == 8016


def test_cdrs_of_calls_ending_together_are_merged_fifty_per_message(
    sim: Any, api: Any, receiver: Any
) -> None:
    for i in range(3):
        api("AXB").ok(
            "POST", AXB_URI, {"callerNum": f"+86138000000{i}0", "calleeNum": f"+86139000000{i}0"}
        )
    placed = sim.control.bulk_calls(
        api("AXB").app["app_key"], 120, events=False, outcome={"answered": 3, "busy": 1}
    )
    assert placed["placed"] == 120
    fees = receiver.wait("/fee", 3)
    assert sorted(len(f.body["feeLst"]) for f in fees) == [20, 50, 50]
    sessions = {cdr["sessionId"] for f in fees for cdr in f.body["feeLst"]}
    assert len(sessions) == 120
    assert receiver.of("/status") == []


def test_axe_callin_has_no_subscription_and_callout_carries_the_digits(
    sim: Any, api: Any, receiver: Any
) -> None:
    bound = api("AXE").ok(
        "POST", AXE_URI, {"bindNum": A, "virtualNum": "+8616700000001", "extendNum": "07"}
    )
    sim.control.place_call(C, "+8616700000001", extension="07", duration=5)
    callin, callout, *_ = (e.body["statusInfo"] for e in receiver.wait("/status", 5))
    assert "subscriptionId" not in callin
    assert (callout["digitInfo"], callout["subscriptionId"]) == ("07", bound["subscriptionId"])
    [fee] = receiver.wait("/fee", 1)
    assert fee.body["feeLst"][0]["extendNumber"] == "07"
    # A calls X back: reaches the last caller.
    back = sim.control.place_call(A, "+8616700000001", duration=5)
    assert (back["callee"], back["stateCode"]) == (C, 0)


def test_ax_calls_use_the_temporary_callee_or_fail_with_8013(sim: Any, api: Any) -> None:
    api("AX").ok("POST", AX_URI, {"origNum": A, "privateNum": "+8617100000001"})
    assert sim.control.place_call(A, "+8617100000001")["stateCode"] == 8013
    assert sim.control.place_call(C, "+8617100000001")["callee"] == A


def test_pushes_follow_the_apps_scheme(sim: Any, receiver: Any) -> None:
    app = app_config(
        "AXB",
        receiver.url,
        app_key="wsseApp",
        push_scheme="WSSE",
        numbers=[{"number": "+8617000000088", "city": "0755"}],
    )
    sim.control.add_app(app)
    Api(sim.base_url, app).ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B})
    sim.control.place_call(A, "+8617000000088", "busy")
    event = receiver.wait("/status", 1)[0]
    assert "X-WSSE" in event.headers
    verified = verify_headers(event.headers, lambda key: app["app_secret"])
    assert verified.scheme is Scheme.WSSE


def test_ax_sms_without_at_b_waits_for_the_customers_decision(
    sim: Any, api: Any, receiver: Any
) -> None:
    api("AX").ok("POST", AX_URI, {"origNum": A, "privateNum": "+8617100000001"})
    receiver.answers["/sms-control"] = lambda body: {
        "actions": [{"operation": "vNumberRoute", "message": {"calling": A, "called": C}}]
    }
    result = sim.control.send_sms(A, "+8617100000001", "where are you")
    assert result["result"] == "waiting"
    [block] = receiver.wait("/sms-control", 1)
    assert block.body["smsEvent"]["notificationMode"] == "Block"
    assert "called" not in block.body["smsEvent"]
    [notify] = receiver.wait("/sms", 1)
    event = notify.body["smsEvent"]
    assert (event["notificationMode"], event["calling"], event["called"]) == ("Notify", A, C)
    assert event["smsIdentifier"] == block.body["smsEvent"]["smsIdentifier"]
    direct = sim.control.send_sms(A, "+8617100000001", "hi@13800000002")
    assert (direct["result"], direct["called"]) == ("forwarded", B)


def test_x_mode_calls_ask_the_customer_whom_to_connect(sim: Any, receiver: Any) -> None:
    receiver.answers["/status"] = lambda body: (
        {"operation": "connect", "connectInfo": {"calleeNum": B, "recordFlag": "true"}}
        if body["eventType"] == "callin"
        else {}
    )
    placed = sim.control.place_call(A, "+8616200000001", duration=12)
    assert placed["pending"] is True
    events = receiver.wait("/status", 5)
    assert events[0].body["statusInfo"]["notifyMode"] == "Block"
    assert [e.body["eventType"] for e in events] == [
        "callin",
        "callout",
        "alerting",
        "answer",
        "disconnect",
    ]
    [fee] = receiver.wait("/fee", 1)
    cdr = fee.body["feeLst"][0]
    assert (cdr["fwdDstNum"], cdr["recordFlag"]) == (B, 1)


def test_x_mode_invalid_block_answer_fails_with_8014(sim: Any, receiver: Any) -> None:
    receiver.answers["/status"] = lambda body: {
        "operation": "connect",
        "connectInfo": {"calleeNum": B, "maxDuration": 7200},
    }
    sim.control.place_call(A, "+8616200000001")
    events = receiver.wait("/status", 2)
    assert events[-1].body["statusInfo"]["stateCode"] == 8014


def test_axyb_stop_call_ends_a_live_call(
    sim: Any, api: Any, apps: dict[str, Any], receiver: Any
) -> None:
    axyb = api("AXYB")
    url = f"{AXYB_URI}?app_key={apps['AXYB']['app_key']}"
    ax = axyb.ok("POST", url, {"origNum": A, "areaCode": "0755"})
    yb = axyb.ok("POST", url, {"subscriptionId": ax["subscriptionId"], "origNum": B})
    call = sim.control.place_call(A, yb["relationNumber"], duration=3600, live=True)
    assert call["live"] is True
    receiver.wait("/status", 4)
    axyb.fails("POST", STOP_URI, {"signal": "call_stop", "sessionid": "nope"}, code="1016001")
    axyb.ok("POST", STOP_URI, {"signal": "call_stop", "sessionid": call["sessionId"]})
    events = receiver.wait("/status", 5)
    assert events[-1].body["eventType"] == "disconnect"
    [fee] = receiver.wait("/fee", 1)
    assert fee.body["feeLst"][0]["serviceType"] == "007"
    # B calling X reaches A with Y displayed.
    back = sim.control.place_call(B, ax["relationNumber"])
    assert back["callee"] == A


def test_x_mode_sms_is_always_a_block_notice(sim: Any, receiver: Any) -> None:
    receiver.answers["/sms-control"] = lambda body: {"operation": "DiscardMessage"}
    result = sim.control.send_sms(A, "+8616200000001", "hello")
    assert result["result"] == "waiting"
    [block] = receiver.wait("/sms-control", 1)
    assert block.body["smsEvent"]["notificationMode"] == "Block"
    sim.control.wait_pushes(1, kind="sms", state="delivered")
    assert receiver.of("/sms") == []


def test_number_status_goes_to_the_status_url_without_an_xstatus_url(
    sim: Any, receiver: Any
) -> None:
    app = app_config(
        "AX",
        receiver.url,
        app_key="noXstatus",
        xstatus_url="",
        numbers=[{"number": "+8617100000077", "city": "010"}],
    )
    sim.control.add_app(app)
    sim.control.set_number_status("+8617100000077", "10", "2")
    [push] = receiver.wait("/status", 1)
    assert push.body["numInfo"] == [{"number": "+8617100000077", "status": "10", "cause": "2"}]
    listed = {a["app_key"]: a for a in sim.control.request("GET", "apps")["apps"]}
    assert listed["noXstatus"]["numbers"][0]["status"] == "10"
