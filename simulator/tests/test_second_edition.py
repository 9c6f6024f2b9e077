"""The simulator follows the contract's second edition and is as strict as the platform.

Huawei's documented request bodies (privatenumber/tests/fixtures/requests.json, each with its
source page) are accepted; the first edition's wrong ones are refused with 1010002 naming the
field; no field is silently ignored.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from privatenumber.tests import documented
from simulator.testing import run_simulator
from simulator.tests.conftest import (
    AX_URI,
    AXB_URI,
    AXE_URI,
    AXYB_URI,
    STOP_URI,
    Api,
    _start_receiver,
    app_config,
)

pytestmark = pytest.mark.simulator

A, B, C = "+8613800000001", "+8613900000002", "+8613700000003"
COUNT_URI = "/rest/caas/virtualnumber/v1.0"
URIS = {
    "axb.bind": ("POST", AXB_URI),
    "ax.bind": ("POST", AX_URI),
    "axe.bind": ("POST", AXE_URI),
    "axyb.bind": ("POST", AXYB_URI),
    "call.stop": ("POST", STOP_URI),
    "axe.count": ("GET", COUNT_URI),
}


def _send(api: Any, apps: dict[str, Any], entry: dict[str, Any], numbers: dict[str, str]):
    method, uri = URIS[entry["interface"]]
    client = api(entry["mode"])
    if entry["mode"] == "AXYB" and entry["interface"] == "axyb.bind":
        uri = f"{uri}?app_key={apps['AXYB']['app_key']}"
    if "query" in entry:
        return client(method, uri, None, documented.fill(entry["query"], numbers))
    return client(method, uri, documented.fill(entry["body"], numbers))


def test_huawei_documented_bodies_are_accepted(sim: Any, api: Any, apps: dict[str, Any]) -> None:
    numbers = {"A": A, "B": B, "CITY": "0755"}
    x_of = {mode: apps[mode]["numbers"][0]["number"] for mode in ("AXB", "AX", "AXE")}
    for entry in documented.load("documented"):
        numbers["X"] = x_of.get(entry["mode"], "")
        if entry["interface"] == "call.stop":
            (yb,) = sim.control.bindings(kind="YB")
            call = sim.control.place_call(A, yb["y"], duration=3600, live=True)
            numbers["SESSION"] = call["sessionId"]
        response = _send(api, apps, entry, numbers)
        answer = response.json()
        assert (response.status_code, answer["resultcode"]) == (200, "0"), (entry["name"], answer)
        if entry["name"] == "axyb_bind_ax":
            numbers["SID"] = answer["subscriptionId"]
            assert answer["relationNumber"].startswith("+86165")
    (ax,) = sim.control.bindings(kind="AXYB")
    assert ax["data"]["recordFlag"] == "true"  # the sample's JSON boolean, kept as the string
    assert sim.control.request("GET", "calls/live")["sessionIds"] == []  # stop-call ended it


@pytest.mark.parametrize("entry", documented.load("first_edition"), ids=lambda entry: entry["name"])
def test_first_edition_bodies_are_refused_naming_the_field(
    api: Any, apps: dict[str, Any], entry: dict[str, Any]
) -> None:
    numbers = {"A": A, "B": B, "X": "+8616500000001", "SID": "s-1", "SESSION": "1200_1@host"}
    numbers["X"] = apps[entry["mode"]]["numbers"][0]["number"]
    response = _send(api, apps, entry, numbers)
    answer = response.json()
    assert (response.status_code, answer["resultcode"]) == (403, "1010002"), answer
    assert any(name in answer["resultdesc"] for name in entry["names"]), answer


@pytest.mark.parametrize(
    ("mode", "method", "uri", "body", "params", "named"),
    [
        (
            "AXB",
            "POST",
            AXB_URI,
            {"callerNum": A, "calleeNum": B, "recordflag": "true"},
            None,
            "recordflag",
        ),
        ("AXB", "GET", AXB_URI, None, {"relationNum": "+8617000000001", "page": "2"}, "page"),
        ("AX", "POST", AX_URI, {"origNum": A, "displayNumMode": "0"}, None, "displayNumMode"),
        ("AXE", "GET", COUNT_URI, None, {"virtualNum": "+8616700000001"}, "virtualNum"),
    ],
)
def test_a_field_the_interface_does_not_have_is_refused_not_ignored(
    api: Any, mode: str, method: str, uri: str, body: Any, params: Any, named: str
) -> None:
    response = api(mode)(method, uri, body, params)
    answer = response.json()
    assert answer["resultcode"] == "1010002"
    assert answer["resultdesc"] == f"Invalid request. The parameter {named} is not supported."


def test_a_refused_axb_modify_names_the_field_it_sent(api: Any) -> None:
    axb = api("AXB")
    bound = axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B})
    change_a = {"subscriptionId": bound["subscriptionId"], "callerNum": B}
    assert "callerNum" in axb.fails("PUT", AXB_URI, change_a, code="1010002")["resultdesc"]
    change_b = {"subscriptionId": bound["subscriptionId"], "calleeNum": A}
    assert "calleeNum" in axb.fails("PUT", AXB_URI, change_b, code="1010002")["resultdesc"]


def test_query_axe_binding_count_counts_one_number_or_pages_through_all(api: Any) -> None:
    axe = api("AXE")
    x = "+8616700000001"
    for i in range(3):
        axe.ok("POST", AXE_URI, {"bindNum": f"+861380000{i:04d}", "virtualNum": x})
    single = axe.ok("GET", COUNT_URI, number=x)
    assert single["numberList"] == [{"number": x, "bindCount": 3}]
    assert "nextCursor" not in single
    first = axe.ok("GET", COUNT_URI, cursor="0", limit="3")
    assert len(first["numberList"]) == 3
    rest = axe.ok("GET", COUNT_URI, cursor=first["nextCursor"], limit="3")
    assert "nextCursor" not in rest
    listed = {row["number"]: row["bindCount"] for row in first["numberList"] + rest["numberList"]}
    assert listed == {number: 3 if number == x else 0 for number in listed}
    assert len(listed) == 4
    axe.fails("GET", COUNT_URI, number="+8617000000001", code="1012001")  # another app's
    api("AXB").fails("GET", COUNT_URI, number=x, code="1010040")


def test_ax_callee_num_display_1_shows_a_the_real_caller(sim: Any, api: Any, receiver: Any) -> None:
    x = "+8617100000001"
    api("AX").ok("POST", AX_URI, {"origNum": A, "privateNum": x, "calleeNumDisplay": "1"})
    sim.control.place_call(B, x)
    events = receiver.wait("/status", 5)
    callout = next(e for e in events if e.body["eventType"] == "callout")
    assert callout.body["statusInfo"]["caller"] == B  # not X


def test_sms_notices_carry_send_result_and_ext_params(sim: Any, api: Any, receiver: Any) -> None:
    x = "+8617000000001"
    api("AXB").ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": x})
    sim.control.send_sms(A, x, "hello")
    [notice] = receiver.wait("/sms", 1)
    event = notice.body["smsEvent"]
    assert event["sendResult"] == 2
    assert event["extInfo"] == {
        "extParas": [{"key": "splitNum", "value": "0"}, {"key": "direction", "value": "1"}]
    }


def test_cdrs_carry_the_reserved_fields_and_recordings_are_named_after_the_session(
    sim: Any, api: Any, receiver: Any
) -> None:
    x = "+8617000000001"
    api("AXB").ok(
        "POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": x, "recordFlag": True}
    )
    call = sim.control.place_call(A, x, duration=20)
    [fee] = receiver.wait("/fee", 1)
    cdr = fee.body["feeLst"][0]
    assert (cdr["ttsPlayTimes"], cdr["ttsTransDuration"], cdr["mptyId"]) == (0, 0, "")
    assert cdr["recordObjectName"] == call["sessionId"].split("@")[0] + ".wav"


def test_an_ip_outside_the_whitelist_gets_1020166(sim: Any, apps: dict[str, Any]) -> None:
    fenced = app_config("AXB", "http://127.0.0.1:9", app_key="fencedAXB".ljust(32, "0"))
    fenced["ip_whitelist"] = ["192.0.2.10"]
    fenced["numbers"] = []
    sim.control.add_app(fenced)
    Api(sim.base_url, fenced).fails(
        "POST", AXB_URI, {"callerNum": A, "calleeNum": B}, code="1020166"
    )


def test_repeated_authentication_failures_lock_the_address_with_1020176(sim: Any) -> None:
    locking = app_config("AXB", "http://127.0.0.1:9", app_key="lockingAXB".ljust(32, "0"))
    locking.update(auth_lock_failures=3, auth_lock_seconds=1800, numbers=[])
    sim.control.add_app(locking)
    wrong = Api(sim.base_url, {**locking, "app_secret": "not-the-secret"})
    right = Api(sim.base_url, locking)
    for _ in range(3):
        wrong.fails("GET", AXB_URI, code="1010012", status=400, relationNum="+8617000000001")
    # locked now, even with the right secret: back off, do not hammer
    right.fails("GET", AXB_URI, code="1020176", relationNum="+8617000000001")
    # another app from the same address is not locked (UNCONFIRMED: per app and address)
    Api(sim.base_url, app_config("AXB", "")).fails(
        "GET", AXB_URI, code="1016001", relationNum="+8617000000001"
    )


@pytest.mark.parametrize(("mode", "distinct"), [("reuse", 1), ("resign", 3)])
def test_a_retry_is_signed_anew_or_carries_the_first_attempts_header(
    mode: str, distinct: int
) -> None:
    # given: a customer server that fails the first two CDR pushes
    server, receiver = _start_receiver()
    app = app_config("AXB", receiver.url, n_numbers=1)
    receiver.fail_first["/fee"] = 2
    try:
        with run_simulator({"apps": [app]}, time_scale=6000, push_retry_header=mode) as sim:
            # when
            Api(sim.base_url, app).ok(
                "POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": "+8617000000001"}
            )
            sim.control.place_call(A, "+8617000000001")
            attempts = receiver.wait("/fee", 3, timeout=20)
    finally:
        server.shutdown()
    # then: "reuse" sends the same Nonce and Created three times, "resign" three fresh headers
    assert len({attempt.headers["X-AKSK"] for attempt in attempts}) == distinct
    assert len({json.dumps(attempt.body) for attempt in attempts}) == 1
