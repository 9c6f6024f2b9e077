"""The customer-to-platform interfaces over HTTP: auth, validation, mode rule, capacity, queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from privatenumber.auth import build_headers
from simulator.tests.conftest import (
    AX_CALLEE_URI,
    AX_URI,
    AXB_URI,
    AXE_URI,
    AXE_V2_URI,
    AXYB_URI,
    Api,
    app_config,
)

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613800000002"
C = "+8613800000003"
D = "+8613800000004"


def _headers(app: dict[str, Any], **changes: str | None) -> dict[str, str]:
    headers = build_headers(app["app_key"], app["app_secret"])
    for name, value in changes.items():
        name = {"authorization": "Authorization", "token": "X-AKSK"}[name]
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    return headers


GOOD_TOKEN = 'UsernameToken Username="{k}", PasswordDigest="ZGlnZXN0", Nonce="ABC", Created="{c}"'


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"authorization": None}, "1023006"),
        ({"authorization": 'AKSK profile="UsernameToken",type="Appkey"'}, "1023007"),
        ({"authorization": 'AKSK realm="SDP",type="Appkey"'}, "1023008"),
        ({"authorization": 'AKSK realm="SDP",profile="UsernameToken"'}, "1023012"),
        ({"authorization": 'AKSK realm="X",profile="UsernameToken",type="Appkey"'}, "1023009"),
        ({"authorization": 'AKSK realm="SDP",profile="Other",type="Appkey"'}, "1023010"),
        ({"authorization": 'AKSK realm="SDP",profile="UsernameToken",type="app"'}, "1023011"),
        ({"token": None}, "1023033"),
        ({"token": 'Username="k", PasswordDigest="d", Nonce="n", Created="c"'}, "1023038"),
        ({"token": 'UsernameToken PasswordDigest="d", Nonce="N", Created="c"'}, "1023034"),
        ({"token": 'UsernameToken Username="k", PasswordDigest="d", Created="c"'}, "1023035"),
        ({"token": 'UsernameToken Username="k", PasswordDigest="d", Nonce="N"'}, "1023036"),
        ({"token": 'UsernameToken Username="k", Nonce="N", Created="c"'}, "1023037"),
    ],
)
def test_it_answers_each_header_fault_with_its_code(
    api: Any, apps: dict[str, Any], changes: dict[str, str | None], code: str
) -> None:
    headers = _headers(apps["AXB"], **changes)
    response = api("AXB")("POST", AXB_URI, {"callerNum": A, "calleeNum": B}, headers=headers)
    assert response.status_code == 400
    assert response.json()["resultcode"] == code


def test_it_refuses_an_unknown_app_key(api: Any) -> None:
    stranger = Api(api("AXB").base_url, {"app_key": "nobody", "app_secret": "x"})
    stranger.fails("POST", AXB_URI, {"callerNum": A, "calleeNum": B}, code="1010003")


def test_it_refuses_a_wrong_digest_with_400(api: Any, apps: dict[str, Any]) -> None:
    wrong = Api(api("AXB").base_url, {**apps["AXB"], "app_secret": "not-the-secret"})
    wrong.fails("POST", AXB_URI, {"callerNum": A, "calleeNum": B}, code="1010012", status=400)


def test_it_refuses_a_stale_created(api: Any, apps: dict[str, Any]) -> None:
    app = apps["AXB"]
    old = datetime.now(UTC) - timedelta(minutes=10)
    headers = build_headers(app["app_key"], app["app_secret"], created=old)
    response = api("AXB")("POST", AXB_URI, {"callerNum": A, "calleeNum": B}, headers=headers)
    assert (response.status_code, response.json()["resultcode"]) == (400, "1010013")


def test_it_accepts_the_legacy_wsse_scheme(sim: Any, apps: dict[str, Any]) -> None:
    legacy = Api(sim.base_url, apps["AXB"], scheme="WSSE")
    assert legacy.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B})["subscriptionId"]


def test_a_wrong_uri_is_a_bare_404(api: Any) -> None:
    response = api("AXB")("POST", "/rest/caas/relationnumber/partners/v9.9", {})
    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"calleeNum": B}, "callerNum"),
        ({"callerNum": A}, "calleeNum"),
        ({"callerNum": "12ab", "calleeNum": B}, "callerNum"),
        ({"callerNum": A, "calleeNum": B, "duration": "60"}, "duration"),
        ({"callerNum": A, "calleeNum": B, "duration": 7776001}, "duration"),
        ({"callerNum": A, "calleeNum": B, "recordFlag": 1}, "recordFlag"),
        ({"callerNum": A, "calleeNum": B, "recordFlag": "yes"}, "recordFlag"),
        ({"callerNum": A, "calleeNum": B, "maxDuration": 1441}, "maxDuration"),
        ({"callerNum": A, "calleeNum": B, "userData": "{x}"}, "userData"),
        ({"callerNum": A, "calleeNum": B, "areaCode": "755"}, "areaCode"),
        ({"callerNum": A, "calleeNum": B, "areaMatchMode": "2"}, "areaMatchMode"),
    ],
)
def test_it_names_the_invalid_parameter(api: Any, body: dict[str, Any], named: str) -> None:
    answer = api("AXB").fails("POST", AXB_URI, body, code="1010002")
    assert named in answer["resultdesc"]


def test_a_body_that_is_not_json_is_an_invalid_request(api: Any, apps: dict[str, Any]) -> None:
    headers = build_headers(apps["AXB"]["app_key"], apps["AXB"]["app_secret"])
    response = requests.post(
        api("AXB").base_url + AXB_URI, data=b"{oops", headers=headers, timeout=10
    )
    assert (response.status_code, response.json()["resultcode"]) == (403, "1010002")


@pytest.mark.parametrize(
    ("mode", "method", "uri"),
    [
        ("AX", "POST", AXB_URI),
        ("AXB", "POST", AX_URI),
        ("AXB", "PUT", AX_CALLEE_URI),
        ("AX", "POST", AXE_URI),
        ("AXE", "GET", AXYB_URI),
    ],
)
def test_an_app_may_only_call_its_own_modes_interfaces(
    api: Any, mode: str, method: str, uri: str
) -> None:
    api(mode).fails(method, uri, {}, code="1010040")


# --- AXB -----------------------------------------------------------------------------------------


def test_axb_binds_and_echoes_the_binding(api: Any) -> None:
    answer = api("AXB").ok(
        "POST", AXB_URI, {"callerNum": A, "calleeNum": B, "areaCode": "0755", "userData": "o-1"}
    )
    assert answer["relationNum"] in ("+8617000000001", "+8617000000002")
    assert (answer["callerNum"], answer["calleeNum"], answer["userData"]) == (A, B, "o-1")


def test_axb_refuses_a_user_number_twice_on_one_x(api: Any) -> None:
    axb = api("AXB")
    x = "+8617000000001"
    axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": x})
    answer = axb.fails(
        "POST", AXB_URI, {"callerNum": B, "calleeNum": C, "relationNum": x}, code="1012010"
    )
    assert answer["resultdesc"] == f"The number {B} has been bound."
    axb.ok("POST", AXB_URI, {"callerNum": C, "calleeNum": D, "relationNum": x})


def test_axb_puts_the_same_a_with_another_b_on_another_x(api: Any) -> None:
    axb = api("AXB")
    first = axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "areaCode": "0755"})
    second = axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": C, "areaCode": "0755"})
    assert first["relationNum"] != second["relationNum"]
    # Both Shenzhen numbers now hold A: strict matching has nothing left in 0755.
    axb.fails("POST", AXB_URI, {"callerNum": A, "calleeNum": D, "areaCode": "0755"}, code="1012008")


def test_loose_matching_prefers_the_province_then_any_number(api: Any) -> None:
    axb = api("AXB")
    # 0756 (Zhuhai) has no number of its own; Guangdong has 0755 and 020.
    axb.fails("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "areaCode": "0756"}, code="1012008")
    loose = {"callerNum": A, "calleeNum": B, "areaCode": "0756", "areaMatchMode": "1"}
    guangdong = {"+8617000000001", "+8617000000002", "+8617000000003"}
    picked = [
        axb.ok("POST", AXB_URI, {**loose, "calleeNum": f"+861390000000{i}"}) for i in range(3)
    ]
    assert {p["relationNum"] for p in picked} == guangdong
    last = axb.ok("POST", AXB_URI, {**loose, "calleeNum": "+8613900000009"})
    assert last["relationNum"] == "+8617000000004"  # Beijing: any X once the province is full


def test_axb_modify_changes_fields_and_query_shows_them(api: Any) -> None:
    axb = api("AXB")
    bound = axb.ok(
        "POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": "+8617000000001"}
    )
    axb.ok(
        "PUT",
        AXB_URI,
        {"subscriptionId": bound["subscriptionId"], "calleeNum": C, "maxDuration": 5},
    )
    found = axb.ok("GET", AXB_URI, subscriptionId=bound["subscriptionId"])["relationNumList"][0]
    assert (found["calleeNum"], found["maxDuration"]) == (C, 5)
    axb.fails("PUT", AXB_URI, {"subscriptionId": "nope"}, code="1016001")


def test_axb_query_pages_the_bindings_of_an_x(api: Any) -> None:
    axb = api("AXB")
    x = "+8617000000001"
    for i in range(25):
        axb.ok(
            "POST",
            AXB_URI,
            {
                "callerNum": f"+861380000{i:04d}",
                "calleeNum": f"+861390000{i:04d}",
                "relationNum": x,
            },
        )
    pages = [axb.ok("GET", AXB_URI, relationNum=x, pageIndex=p, pageSize=10) for p in (1, 2, 3)]
    assert [len(p["relationNumList"]) for p in pages] == [10, 10, 5]
    assert {p["totalCount"] for p in pages} == {25}
    ids = [b["subscriptionId"] for p in pages for b in p["relationNumList"]]
    assert len(set(ids)) == 25
    assert axb.ok("GET", AXB_URI, relationNum=x, pageSize=500)["pageSize"] == 50
    one = axb.ok("GET", AXB_URI, relationNum=x, callerNum="+8613800000007")
    assert one["totalCount"] == 1


def test_axb_unbind_by_x_removes_everything_on_it(api: Any) -> None:
    axb = api("AXB")
    x = "+8617000000002"
    axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": x})
    axb.ok("POST", AXB_URI, {"callerNum": C, "calleeNum": D, "relationNum": x})
    axb.ok("DELETE", AXB_URI, relationNum=x)
    axb.fails("GET", AXB_URI, relationNum=x, code="1016001")


def test_axb_unbind_of_another_apps_binding_is_forbidden(sim: Any, api: Any, receiver: Any) -> None:
    other = app_config(
        "AXB",
        receiver.url,
        app_key="otherAxbApp",
        numbers=[{"number": "+8617000000099", "city": "0755"}],
    )
    sim.control.add_app(other)
    theirs = Api(sim.base_url, other).ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B})
    api("AXB").fails("DELETE", AXB_URI, subscriptionId=theirs["subscriptionId"], code="1012001")
    api("AXB").fails("DELETE", AXB_URI, subscriptionId="0" * 32, code="1016001")


def test_plus_must_be_escaped_in_query_strings(api: Any, sim: Any, apps: dict[str, Any]) -> None:
    axb = api("AXB")
    axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "relationNum": "+8617000000001"})
    headers = build_headers(apps["AXB"]["app_key"], apps["AXB"]["app_secret"])
    raw = requests.get(
        sim.base_url + AXB_URI + "?relationNum=+8617000000001", headers=headers, timeout=10
    )
    assert raw.json()["resultcode"] == "1010002"  # an unescaped + arrives as a space
    escaped = requests.get(
        sim.base_url + AXB_URI + "?relationNum=%2B8617000000001", headers=headers, timeout=10
    )
    assert escaped.json()["resultcode"] == "0"


def test_paused_numbers_are_never_chosen_and_refuse_binds(
    sim: Any, api: Any, receiver: Any
) -> None:
    axb = api("AXB")
    sim.control.set_number_status("+8617000000001", "9")
    [push] = receiver.wait("/xstatus", 1)
    assert push.body == {
        "eventType": "numStatus",
        "numInfo": [{"number": "+8617000000001", "status": "9"}],
    }
    axb.fails(
        "POST",
        AXB_URI,
        {"callerNum": A, "calleeNum": B, "relationNum": "+8617000000001"},
        code="1012001",
    )
    for i in range(5):
        bound = axb.ok(
            "POST",
            AXB_URI,
            {
                "callerNum": f"+86138000000{i}0",
                "calleeNum": f"+86139000000{i}0",
                "areaCode": "0755",
            },
        )
        assert bound["relationNum"] == "+8617000000002"


# --- AX ------------------------------------------------------------------------------------------


def test_ax_limits_x_per_a_and_refuses_duplicates(sim: Any, receiver: Any) -> None:
    app = app_config("AX", receiver.url, n_numbers=7)
    sim.control.add_app(app)
    ax = Api(sim.base_url, app)
    first = ax.ok("POST", AX_URI, {"origNum": A, "privateNum": "+8617100000001"})
    assert (first["origNum"], first["privateNum"]) == (A, "+8617100000001")
    ax.fails("POST", AX_URI, {"origNum": A, "privateNum": "+8617100000001"}, code="1016002")
    ax.fails("POST", AX_URI, {"origNum": B, "privateNum": "+8617100000001"}, code="1011005")
    for _ in range(4):
        ax.ok(
            "POST",
            AX_URI,
            {
                "origNum": A,
                "areaCode": "0755",
                "areaMatchMode": "1",
                "privateNumType": "mobile-virtual",
            },
        )
    ax.fails(
        "POST",
        AX_URI,
        {
            "origNum": A,
            "areaCode": "0755",
            "areaMatchMode": "1",
            "privateNumType": "mobile-virtual",
        },
        code="1011003",
    )
    listed = ax.ok("GET", AX_URI, origNum=A)["privateNumList"]
    assert len(listed) == 5


def test_ax_temporary_callee_and_unbind(api: Any) -> None:
    ax = api("AX")
    bound = ax.ok("POST", AX_URI, {"origNum": A, "privateNum": "+8617100000001"})
    ax.fails(
        "PUT",
        AX_CALLEE_URI,
        {"origNum": A, "privateNum": "+8617100000001", "calleeNum": A},
        code="1010002",
    )
    ax.ok(
        "PUT",
        AX_CALLEE_URI,
        {"origNum": A, "privateNum": "+8617100000001", "calleeNum": B, "duration": 600},
    )
    [info] = ax.ok("GET", AX_URI, subscriptionId=bound["subscriptionId"])["privateNumList"]
    assert info["calleeNum"] == B
    ax.ok("DELETE", AX_URI, subscriptionId=bound["subscriptionId"])
    ax.fails("DELETE", AX_URI, subscriptionId=bound["subscriptionId"], code="1011004")


# --- AXE -----------------------------------------------------------------------------------------


def test_axe_assigns_extensions_of_the_apps_length_up_to_capacity(api: Any) -> None:
    axe = api("AXE")
    x = "+8616700000001"
    given = axe.ok("POST", AXE_URI, {"bindNum": A, "virtualNum": x, "extendNum": "42"})
    assert given["extendNum"] == "42"
    # the extension is taken: "No idle extend Number."; the same A twice: "already exists"
    axe.fails("POST", AXE_URI, {"bindNum": B, "virtualNum": x, "extendNum": "42"}, code="1020167")
    axe.fails("POST", AXE_URI, {"bindNum": A, "virtualNum": x}, code="1016002")
    axe.fails("POST", AXE_URI, {"bindNum": B, "virtualNum": x, "extendNum": "123"}, code="1010002")
    extensions = {"42"}
    for i in range(98):
        bound = axe.ok("POST", AXE_URI, {"bindNum": f"+861390000{i:04d}", "virtualNum": x})
        assert len(bound["extendNum"]) == 2
        extensions.add(bound["extendNum"])
    assert extensions == {f"{n:02d}" for n in range(1, 100)}
    axe.fails("POST", AXE_URI, {"bindNum": C, "virtualNum": x}, code="1020167")


def test_axe_query_v1_v2_modify_and_unbind(api: Any) -> None:
    axe = api("AXE")
    bound = [
        axe.ok(
            "POST",
            AXE_URI,
            {
                "bindNum": f"+86138000000{i:02d}",
                "virtualNum": "+8616700000002",
                "timeUnit": "1",
                "bindExpiredTime": 60,
            },
        )
        for i in range(7)
    ]
    one = axe.ok("GET", AXE_URI, virtualNum="+8616700000002", extendNum=bound[0]["extendNum"])
    assert (one["subscriptionId"], one["bindExpiredTime"], one["timeUnit"]) == (
        bound[0]["subscriptionId"],
        60,
        "1",
    )
    axe.ok(
        "PUT",
        AXE_URI,
        {"subscriptionId": bound[0]["subscriptionId"], "bindExpiredTime": 120, "callbackNum": B},
    )
    again = axe.ok("GET", AXE_URI, subscriptionId=bound[0]["subscriptionId"])
    assert (again["bindExpiredTime"], again["callbackNum"]) == (60, B)  # the documented quirk
    seen, cursor = [], "0000000000000_0"
    while cursor:
        page = axe.ok("GET", AXE_V2_URI, cursor=cursor, limit=3)
        seen += [b["subscriptionId"] for b in page["bindList"]]
        cursor = page.get("nextCursor")
    assert seen == [b["subscriptionId"] for b in bound]
    axe.fails("GET", AXE_URI, virtualNum="+8616700000002", code="1010002")
    axe.ok("DELETE", AXE_URI, subscriptionId=bound[1]["subscriptionId"])
    axe.fails("GET", AXE_URI, subscriptionId=bound[1]["subscriptionId"], code="1016001")
    axe.fails(
        "POST", AXE_URI, {"bindNum": A, "callbackNum": B, "callbackTone": "t.wav"}, code="1010002"
    )


# --- AXYB ----------------------------------------------------------------------------------------


def test_axyb_binds_in_two_steps_and_keeps_y_unique_per_ax(api: Any, apps: dict[str, Any]) -> None:
    # The app's numbers: ...01 and ...02 in Shenzhen (0755), ...03 in Guangzhou, ...04 in Beijing.
    axyb = api("AXYB")
    url = f"{AXYB_URI}?app_key={apps['AXYB']['app_key']}"
    ax = axyb.ok("POST", url, {"origNum": A, "areaCode": "0755", "ybDuration": 600})
    x = ax["relationNumber"]
    assert x in ("+8616500000001", "+8616500000002")  # the platform chose X in Shenzhen
    yb = axyb.ok(
        "POST", url, {"subscriptionId": ax["subscriptionId"], "origNum": B, "areaCode": "020"}
    )
    assert yb["relationNumber"] == "+8616500000003"  # and Y in Guangzhou
    # A Y never twice with the same AX: Guangzhou has no other Y
    again = {"subscriptionId": ax["subscriptionId"], "origNum": C, "areaCode": "020"}
    axyb.fails("POST", url, again, code="1012008")
    auto = axyb.ok("POST", url, {"subscriptionId": ax["subscriptionId"], "origNum": C})
    assert auto["relationNumber"] not in (x, "+8616500000003")
    listed = axyb.ok(
        "GET", AXYB_URI, app_key=apps["AXYB"]["app_key"], subscriptionId=ax["subscriptionId"]
    )["xyRelationNumList"]
    assert {(r["numA"], r["numX"], r["numB"]) for r in listed} == {(A, x, B), (A, x, C)}
    assert all(r["ybDuration"] == "600" for r in listed)
    # one Y-B relation alone, by its Y
    key = apps["AXYB"]["app_key"]
    axyb.ok(
        "DELETE",
        AXYB_URI,
        app_key=key,
        subscriptionId=ax["subscriptionId"],
        yNum=yb["relationNumber"],
    )
    left = axyb.ok("GET", AXYB_URI, app_key=key, subscriptionId=ax["subscriptionId"])
    assert {r["numB"] for r in left["xyRelationNumList"]} == {C}
    axyb.ok("DELETE", AXYB_URI, app_key=key, subscriptionId=ax["subscriptionId"])
    axyb.fails("GET", AXYB_URI, app_key=key, relationNum=auto["relationNumber"], code="1016001")


def test_axyb_names_b_as_orig_num_and_refuses_a_b_equal_to_a(
    api: Any, apps: dict[str, Any]
) -> None:
    axyb = api("AXYB")
    url = f"{AXYB_URI}?app_key={apps['AXYB']['app_key']}"
    ax = axyb.ok("POST", url, {"origNum": A})
    refused = axyb.fails(
        "POST", url, {"subscriptionId": ax["subscriptionId"], "origNum": A}, code="1010002"
    )
    assert "origNum" in refused["resultdesc"]


def test_axyb_needs_app_key_in_the_query(api: Any) -> None:
    answer = api("AXYB").fails("POST", AXYB_URI, {"origNum": A}, code="1010002")
    assert "app_key" in answer["resultdesc"]
