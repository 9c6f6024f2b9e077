"""Tests of privatenumber.client with the network stubbed at the session's transport adapter."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from privatenumber import auth, schemas
from privatenumber.client import CallLog, PrivateNumberClient
from privatenumber.errors import PlatformError, PlatformTransientError

BASE_URL = "https://rtcpns.cn-north-1.myhuaweicloud.com"
APP_KEY = "a1d1f50cad21415fbdd13d8f53d36d60"
SECRET = "Vb2Yx7rQ9sLk3mNp-secret"
A = "+8613800000001"
B = "+8613900000002"
X = "+8617012340001"

Answer = tuple[int, Any, dict[str, str]] | BaseException


class FakeAdapter(BaseAdapter):
    """A transport that answers from a script and remembers what it was sent."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []
        self.tls: list[tuple[Any, Any, Any]] = []

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self.sent.append(request)
        self.timeouts.append(timeout)
        self.tls.append((verify, cert, proxies))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = answer
        response = requests.Response()
        response.status_code = status
        if isinstance(body, bytes):
            response._content = body
        elif isinstance(body, str):
            response._content = body.encode("utf-8")
        else:
            response._content = json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json;charset=utf-8", **headers}
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    @property
    def last(self) -> requests.PreparedRequest:
        return self.sent[-1]


def ok(**fields: Any) -> Answer:
    return (200, {"resultcode": "0", "resultdesc": "Success", **fields}, {})


def refused(code: str, desc: str, status: int = 403) -> Answer:
    return (status, {"resultcode": code, "resultdesc": desc}, {})


@pytest.fixture
def calls() -> list[CallLog]:
    return []


@pytest.fixture
def connect(calls: list[CallLog]) -> Callable[..., tuple[PrivateNumberClient, FakeAdapter]]:
    def _connect(*answers: Answer, **options: Any) -> tuple[PrivateNumberClient, FakeAdapter]:
        client = PrivateNumberClient(BASE_URL, APP_KEY, SECRET, on_call=calls.append, **options)
        adapter = FakeAdapter(*answers)
        client.session.mount("https://", adapter)
        return client, adapter

    return _connect


def _query(request: requests.PreparedRequest) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url or "").query)


def _body(request: requests.PreparedRequest) -> Any:
    assert isinstance(request.body, bytes)
    return json.loads(request.body.decode("utf-8"))


# Signing and the wire


def test_it_signs_every_request_with_aksk(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"))
    client.axb_bind(caller_num=A, callee_num=B)
    headers = adapter.last.headers
    verified = auth.verify_headers(headers, {APP_KEY: SECRET}.get)
    assert verified.scheme is auth.Scheme.AKSK
    assert headers["Content-Type"] == "application/json;charset=UTF-8"


def test_it_can_sign_with_the_legacy_wsse_scheme(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"), scheme="WSSE")
    client.axb_bind(caller_num=A, callee_num=B)
    assert "X-WSSE" in adapter.last.headers
    assert auth.verify_headers(adapter.last.headers, {APP_KEY: SECRET}.get).scheme.value == "WSSE"


def test_it_sends_the_body_as_utf8_json_with_the_spec_names(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"))
    client.axb_bind(caller_num=A, callee_num=B, duration=3600, record_flag="true")
    assert adapter.last.method == "POST"
    assert adapter.last.url == BASE_URL + "/rest/caas/relationnumber/partners/v1.0"
    assert _body(adapter.last) == {
        "callerNum": A,
        "calleeNum": B,
        "duration": 3600,
        "recordFlag": "true",
    }


def test_it_escapes_plus_as_percent_2b_in_the_query(connect) -> None:
    client, adapter = connect(ok(relationNumList=[]))
    client.axb_query(relation_num=X, caller_num=A, page_size=20)
    url = adapter.last.url or ""
    assert "relationNum=%2B8617012340001" in url
    assert "callerNum=%2B8613800000001" in url
    assert "+" not in urlsplit(url).query
    assert "pageSize=20" in url


def test_it_sends_get_requests_without_a_body(connect) -> None:
    client, adapter = connect(ok(privateNumList=[]))
    client.ax_query(orig_num=A)
    assert adapter.last.body is None
    assert adapter.last.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_it_passes_its_explicit_timeout_to_the_transport(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"))
    client.axb_bind(caller_num=A, callee_num=B)
    assert adapter.timeouts[-1] == (3.05, 10)


def test_its_timeout_is_configurable(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"), timeout=2.5)
    client.axb_bind(caller_num=A, callee_num=B)
    assert adapter.timeouts[-1] == 2.5


def test_the_sessions_own_tls_and_proxy_settings_are_used(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"))
    client.session.verify = "/etc/ssl/private-ca.pem"
    client.session.cert = ("/etc/ssl/client.pem", "/etc/ssl/client.key")
    client.axb_bind(caller_num=A, callee_num=B)
    assert adapter.tls[-1] == (
        "/etc/ssl/private-ca.pem",
        ("/etc/ssl/client.pem", "/etc/ssl/client.key"),
        {},
    )


def test_its_session_retries_nothing() -> None:
    client = PrivateNumberClient(BASE_URL, APP_KEY, SECRET)
    for adapter in client.session.adapters.values():
        assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
        assert adapter.max_retries.read is False  # type: ignore[attr-defined]


def test_it_refuses_to_work_without_a_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        PrivateNumberClient(BASE_URL, APP_KEY, SECRET, timeout=None)  # type: ignore[arg-type]


def test_it_refuses_a_base_url_without_a_scheme() -> None:
    with pytest.raises(ValueError, match="https://"):
        PrivateNumberClient("rtcpns.cn-north-1.myhuaweicloud.com", APP_KEY, SECRET)


def test_it_ignores_a_trailing_slash_in_the_base_url(connect) -> None:
    client = PrivateNumberClient(BASE_URL + "/", APP_KEY, SECRET)
    adapter = FakeAdapter(ok(subscriptionId="s-1"))
    client.session.mount("https://", adapter)
    client.axb_bind(caller_num=A, callee_num=B)
    assert adapter.last.url == BASE_URL + "/rest/caas/relationnumber/partners/v1.0"


# Answers


def test_it_returns_the_typed_answer(connect) -> None:
    client, _ = connect(ok(origNum=A, privateNum=X, subscriptionId="s-1", extra="ignored"))
    answer = client.ax_bind(orig_num=A, private_num=X)
    assert isinstance(answer, schemas.AxBindResponse)
    assert answer.subscription_id == "s-1"
    assert answer.private_num == X


def test_it_accepts_a_ready_request_model(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1"))
    client.axb_bind(schemas.AxbBindRequest(caller_num=A, callee_num=B))
    assert _body(adapter.last) == {"callerNum": A, "calleeNum": B}


def test_it_refuses_a_model_and_keyword_arguments_together(connect) -> None:
    client, adapter = connect()
    with pytest.raises(TypeError):
        client.axb_bind(schemas.AxbBindRequest(caller_num=A, callee_num=B), duration=60)
    assert adapter.sent == []


def test_it_refuses_an_invalid_request_before_sending_it(connect, calls) -> None:
    client, adapter = connect()
    with pytest.raises(schemas.SchemaError) as caught:
        client.axb_bind(caller_num="13800000001", callee_num=B)
    assert caught.value.field == "caller_num"
    assert adapter.sent == []
    assert calls == []


def test_it_raises_permanent_on_a_refusal(connect) -> None:
    client, _ = connect(refused("1012010", "The relation number has been bound."))
    with pytest.raises(PlatformError) as caught:
        client.axb_bind(caller_num=A, callee_num=B, relation_num=X)
    error = caught.value
    assert not isinstance(error, PlatformTransientError)
    assert (error.code, error.http_status, error.permanent) == ("1012010", 403, True)
    assert error.description == "The relation number has been bound."
    assert error.interface == "axb_bind"
    assert not error.may_have_landed


def test_it_raises_transient_on_flow_control(connect) -> None:
    client, _ = connect(refused("1010010", "The flow control upper limit is reached."))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert not caught.value.permanent
    assert not caught.value.may_have_landed


@pytest.mark.parametrize("code", ["1010001", "1023001", "1023002"])
def test_it_raises_transient_on_a_server_error_code(connect, code: str) -> None:
    client, _ = connect(refused(code, "Internal error.", status=500))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.code == code
    assert caught.value.may_have_landed


def test_it_raises_transient_on_a_5xx_without_json(connect) -> None:
    client, _ = connect((502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.code == "HTTP502"
    assert caught.value.http_status == 502
    assert caught.value.may_have_landed


def test_it_reads_a_refusal_with_http_200_by_its_code(connect) -> None:
    client, _ = connect(refused("1016001", "The record does not exist.", status=200))
    with pytest.raises(PlatformError) as caught:
        client.axb_query(subscription_id="s-404")
    assert caught.value.code == "1016001"
    assert caught.value.permanent


def test_it_raises_http404_on_a_wrong_uri(connect) -> None:
    client, _ = connect((404, "<html>Not Found</html>", {"Content-Type": "text/html"}))
    with pytest.raises(PlatformError) as caught:
        client.ax_query(orig_num=A)
    assert caught.value.code == "HTTP404"
    assert caught.value.permanent
    assert "Wrong base URL or URI" in str(caught.value)


def test_it_names_a_success_that_is_not_json(connect) -> None:
    client, _ = connect((200, "<html>portal login</html>", {"Content-Type": "text/html"}))
    with pytest.raises(PlatformError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.code == "BAD_RESPONSE"
    assert caught.value.description == "HTTP 200, not JSON"
    assert caught.value.may_have_landed


def test_it_names_a_success_without_a_result_code(connect) -> None:
    client, _ = connect((200, {"subscriptionId": "s-1"}, {}))
    with pytest.raises(PlatformError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.description == "HTTP 200, no resultcode in the answer"


def test_it_names_the_missing_field_of_a_wrongly_shaped_success(connect) -> None:
    client, _ = connect(ok(origNum=A, subscriptionId="s-1"))
    with pytest.raises(PlatformError) as caught:
        client.ax_bind(orig_num=A, private_num=X)
    assert caught.value.code == "BAD_RESPONSE"
    assert caught.value.description == "privateNum: Field required"
    assert caught.value.permanent
    assert caught.value.may_have_landed


def test_it_names_a_4xx_without_a_result_code(connect) -> None:
    client, _ = connect((400, "", {}))
    with pytest.raises(PlatformError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.code == "HTTP400"
    assert caught.value.permanent


# Transport failures


def test_it_raises_transient_that_may_have_landed_on_a_read_timeout(connect) -> None:
    client, adapter = connect(requests.ReadTimeout("read timed out"))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.code == "TIMEOUT"
    assert caught.value.may_have_landed
    assert len(adapter.sent) == 1


def test_a_connect_timeout_did_not_land(connect) -> None:
    client, _ = connect(requests.ConnectTimeout("connect timed out"))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.code == "CONNECTION"
    assert not caught.value.may_have_landed


def test_a_refused_connection_did_not_land(connect) -> None:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    error = requests.ConnectionError(MaxRetryError(None, "/rest", reason))  # type: ignore[arg-type]
    client, _ = connect(error)
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert not caught.value.may_have_landed
    assert "could not connect" in caught.value.description


def test_a_connection_dropped_after_sending_may_have_landed(connect) -> None:
    dropped = ProtocolError("Connection aborted.", RemoteDisconnected("closed"))
    client, _ = connect(requests.ConnectionError(dropped))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.may_have_landed
    assert "connection dropped" in caught.value.description


def test_a_body_that_broke_off_may_have_landed(connect) -> None:
    client, _ = connect(requests.exceptions.ChunkedEncodingError("broken"))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(caller_num=A, callee_num=B)
    assert caught.value.may_have_landed


def test_it_makes_exactly_one_attempt_on_every_failure(connect) -> None:
    client, adapter = connect(
        refused("1010001", "Internal system error.", status=500), ok(subscriptionId="s-1")
    )
    with pytest.raises(PlatformTransientError):
        client.axb_bind(caller_num=A, callee_num=B)
    assert len(adapter.sent) == 1


# Recordings


def test_it_reads_the_recording_address_from_the_301_without_following_it(connect) -> None:
    location = "https://ostor.huawei.com/sp-v1/1200_366.wav?Signature=abc"
    client, adapter = connect((301, b"", {"Location": location}))
    assert client.recording_download_url("1200_366.wav", "ostor.huawei.com") == location
    assert len(adapter.sent) == 1
    assert _query(adapter.last) == {
        "fileName": ["1200_366.wav"],
        "recordDomain": ["ostor.huawei.com"],
    }
    assert adapter.last.url.startswith(BASE_URL + "/rest/provision/voice/record/v1.0?")


def test_a_301_without_location_is_a_bad_response(connect) -> None:
    client, _ = connect((301, b"", {}))
    with pytest.raises(PlatformError) as caught:
        client.recording_download_url("1200_366.wav", "ostor.huawei.com")
    assert caught.value.code == "BAD_RESPONSE"


def test_an_unknown_recording_gives_1012007(connect) -> None:
    client, _ = connect(refused("1012007", "The record does not exist."))
    with pytest.raises(PlatformError) as caught:
        client.recording_download_url("gone.wav", "ostor.huawei.com")
    assert caught.value.code == "1012007"
    assert caught.value.permanent


def test_other_interfaces_never_follow_redirects(connect) -> None:
    client, adapter = connect((302, b"", {"Location": BASE_URL + "/elsewhere"}), ok())
    with pytest.raises(PlatformError):
        client.axb_unbind(subscription_id="s-1")
    assert len(adapter.sent) == 1


# Every interface: its method, URI and answer type


INTERFACES: list[tuple[str, Callable[[PrivateNumberClient], Any], str, str, Answer, type]] = [
    (
        "axb_bind",
        lambda c: c.axb_bind(caller_num=A, callee_num=B),
        "POST",
        "/rest/caas/relationnumber/partners/v1.0",
        ok(subscriptionId="s-1"),
        schemas.AxbBindResponse,
    ),
    (
        "axb_modify",
        lambda c: c.axb_modify(subscription_id="s-1", duration=60),
        "PUT",
        "/rest/caas/relationnumber/partners/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "axb_query",
        lambda c: c.axb_query(subscription_id="s-1"),
        "GET",
        "/rest/caas/relationnumber/partners/v1.0",
        ok(relationNumList=[{"subscriptionId": "s-1"}]),
        schemas.AxbQueryResponse,
    ),
    (
        "axb_unbind",
        lambda c: c.axb_unbind(relation_num=X),
        "DELETE",
        "/rest/caas/relationnumber/partners/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "ax_bind",
        lambda c: c.ax_bind(orig_num=A, area_code="0755"),
        "POST",
        "/rest/provision/caas/privatenumber/v1.0",
        ok(origNum=A, privateNum=X, subscriptionId="s-1"),
        schemas.AxBindResponse,
    ),
    (
        "ax_modify",
        lambda c: c.ax_modify(subscription_id="s-1", private_sms="false"),
        "PUT",
        "/rest/provision/caas/privatenumber/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "ax_query",
        lambda c: c.ax_query(private_num=X),
        "GET",
        "/rest/provision/caas/privatenumber/v1.0",
        ok(privateNumList=[{"subscriptionId": "s-1", "origNum": A, "privateNum": X}]),
        schemas.AxQueryResponse,
    ),
    (
        "ax_unbind",
        lambda c: c.ax_unbind(subscription_id="s-1"),
        "DELETE",
        "/rest/provision/caas/privatenumber/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "ax_set_temporary_callee",
        lambda c: c.ax_set_temporary_callee(orig_num=A, private_num=X, callee_num=B),
        "PUT",
        "/rest/caas/privatenumber/calleenumber/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "axe_bind",
        lambda c: c.axe_bind(bind_num=A, virtual_num=X),
        "POST",
        "/rest/caas/extendnumber/v1.0",
        ok(subscriptionId="s-1", virtualNum=X, extendNum="0123", bindNum=A),
        schemas.AxeBindResponse,
    ),
    (
        "axe_modify",
        lambda c: c.axe_modify(subscription_id="s-1", callback_tone="cb.wav"),
        "PUT",
        "/rest/caas/extendnumber/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "axe_query",
        lambda c: c.axe_query(virtual_num=X, extend_num="0123"),
        "GET",
        "/rest/caas/extendnumber/v1.0",
        ok(subscriptionId="s-1", virtualNum=X, extendNum="0123", bindNum=A),
        schemas.AxeQueryResponse,
    ),
    (
        "axe_query_v2",
        lambda c: c.axe_query_v2(cursor=schemas.AXE_V2_FIRST_CURSOR, limit=50),
        "GET",
        "/rest/caas/extendnumber/v2.0",
        ok(bindList=[{"subscriptionId": "s-1"}], nextCursor="1715000000000_42"),
        schemas.AxeQueryV2Response,
    ),
    (
        "axe_binding_count",
        lambda c: c.axe_binding_count(X),
        "GET",
        "/rest/caas/virtualnumber/v1.0",
        ok(numberList=[{"number": X, "bindCount": 3}]),
        schemas.AxeBindingCountResponse,
    ),
    (
        "axe_unbind",
        lambda c: c.axe_unbind(subscription_id="s-1"),
        "DELETE",
        "/rest/caas/extendnumber/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "axyb_bind",
        lambda c: c.axyb_bind(orig_num=A, area_code="0755"),
        "POST",
        "/rest/omp/xyrelationnumber/v1.0",
        ok(subscriptionId="s-1", relationNumber=X),
        schemas.AxybBindResponse,
    ),
    (
        "axyb_query",
        lambda c: c.axyb_query(subscription_id="s-1"),
        "GET",
        "/rest/omp/xyrelationnumber/v1.0",
        ok(xyRelationNumList=[{"bindId": "s-1"}]),
        schemas.AxybQueryResponse,
    ),
    (
        "axyb_unbind",
        lambda c: c.axyb_unbind(subscription_id="s-1"),
        "DELETE",
        "/rest/omp/xyrelationnumber/v1.0",
        ok(),
        schemas.ResultEnvelope,
    ),
    (
        "stop_call",
        lambda c: c.stop_call("1200_366_0@callenabler246.huaweicaas.com"),
        "POST",
        "/rest/httpsessions/callStop/v2.0",
        ok(),
        schemas.ResultEnvelope,
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "method", "path", "answer", "answer_type"),
    INTERFACES,
    ids=[row[0] for row in INTERFACES],
)
def test_every_interface_uses_its_method_and_uri(
    connect, calls, name, call, method, path, answer, answer_type
) -> None:
    client, adapter = connect(answer)
    result = call(client)
    assert type(result) is answer_type
    assert adapter.last.method == method
    assert urlsplit(adapter.last.url).path == path
    assert calls[-1].interface == name
    assert (calls[-1].method, calls[-1].path, calls[-1].result_code) == (method, path, "0")


def test_axyb_uris_carry_the_app_key(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1", relationNumber=X), ok(), ok())
    client.axyb_bind(orig_num=A, area_code="0755")
    assert _query(adapter.last) == {"app_key": [APP_KEY]}
    assert _body(adapter.last) == {"origNum": A, "areaCode": "0755"}
    client.axyb_query(relation_num=X)
    assert _query(adapter.last) == {"app_key": [APP_KEY], "relationNum": [X]}
    client.axyb_unbind(subscription_id="s-1")
    assert _query(adapter.last) == {"app_key": [APP_KEY], "subscriptionId": ["s-1"]}


def test_axyb_bind_with_a_subscription_id_is_the_second_step(connect) -> None:
    client, adapter = connect(ok(subscriptionId="s-1", relationNumber="+8617012340002"))
    answer = client.axyb_bind(subscription_id="s-1", orig_num=B)
    assert _body(adapter.last) == {"origNum": B, "subscriptionId": "s-1"}
    assert answer.relation_number == "+8617012340002"


def test_stop_call_sends_the_call_stop_signal(connect) -> None:
    client, adapter = connect(ok())
    client.stop_call("1200_366_0@host")
    assert _body(adapter.last) == {"signal": "call_stop", "sessionid": "1200_366_0@host"}


def test_the_axe_binding_count_pages_with_a_cursor(connect) -> None:
    client, adapter = connect(ok(numberList=[], nextCursor="17"))
    answer = client.axe_binding_count(cursor=schemas.AXE_COUNT_FIRST_CURSOR, limit=100)
    assert _query(adapter.last) == {"cursor": ["0"], "limit": ["100"]}
    assert answer.next_cursor == "17"


def test_a_gate_that_refuses_stops_the_request_before_anything_is_sent(connect, calls) -> None:
    def closed(interface: str) -> None:
        raise PlatformTransientError("PAUSED", f"{interface} refused by the gate")

    client, adapter = connect(ok())
    client.gate = closed
    with pytest.raises(PlatformTransientError) as refused:
        client.axb_unbind(subscription_id="s-1")
    assert refused.value.code == "PAUSED"
    assert adapter.sent == []
    assert calls == []


# The audit hook and secrecy


def test_it_reports_a_successful_call(connect, calls) -> None:
    client, _ = connect(ok(relationNumList=[]))
    client.axb_query(relation_num=X)
    [call] = calls
    assert call.interface == "axb_query"
    assert call.method == "GET"
    assert call.path == "/rest/caas/relationnumber/partners/v1.0"
    assert (call.http_status, call.result_code, call.error) == (200, "0", None)
    assert call.latency_ms >= 0


def test_it_reports_a_refused_call(connect, calls) -> None:
    client, _ = connect(refused("1012008", "Insufficient number."))
    with pytest.raises(PlatformError):
        client.axb_bind(caller_num=A, callee_num=B, area_code="0755")
    [call] = calls
    assert (call.http_status, call.result_code) == (403, "1012008")
    assert "Insufficient free numbers" in (call.error or "")


def test_it_reports_a_call_that_got_no_answer(connect, calls) -> None:
    client, _ = connect(requests.ReadTimeout())
    with pytest.raises(PlatformTransientError):
        client.axb_bind(caller_num=A, callee_num=B)
    [call] = calls
    assert (call.http_status, call.result_code) == (None, "TIMEOUT")


def test_it_reports_a_recording_redirect(connect, calls) -> None:
    client, _ = connect((301, b"", {"Location": "https://example.invalid/a.wav"}))
    client.recording_download_url("a.wav", "ostor.huawei.com")
    assert (calls[-1].http_status, calls[-1].result_code, calls[-1].error) == (301, None, None)


def test_a_failing_audit_hook_does_not_change_the_outcome(caplog) -> None:
    def explode(call: CallLog) -> None:
        raise RuntimeError("database is down")

    client = PrivateNumberClient(BASE_URL, APP_KEY, SECRET, on_call=explode)
    client.session.mount("https://", FakeAdapter(ok(subscriptionId="s-1")))
    with caplog.at_level(logging.ERROR):
        assert client.axb_bind(caller_num=A, callee_num=B).subscription_id == "s-1"
    assert "on_call hook failed" in caplog.text


def test_its_repr_shows_the_base_url_and_app_key_only() -> None:
    client = PrivateNumberClient(BASE_URL, APP_KEY, SECRET)
    assert repr(client) == f"PrivateNumberClient(base_url={BASE_URL!r}, app_key={APP_KEY!r})"


def test_secrets_and_numbers_never_reach_logs_or_errors(connect, calls, caplog) -> None:
    client, _ = connect(
        ok(relationNumList=[]),
        refused("1010002", "Invalid request."),
        requests.ConnectionError("boom"),
    )
    with caplog.at_level(logging.DEBUG, logger="privatenumber"):
        client.axb_query(relation_num=X)
        with pytest.raises(PlatformError) as refusal:
            client.axb_bind(caller_num=A, callee_num=B)
        with pytest.raises(PlatformError) as dropped:
            client.axb_bind(caller_num=A, callee_num=B)
    texts = [caplog.text, str(refusal.value), repr(refusal.value), str(dropped.value), repr(calls)]
    for text in texts:
        assert SECRET not in text
        assert X not in text
        assert A not in text


def test_it_is_a_context_manager() -> None:
    with PrivateNumberClient(BASE_URL, APP_KEY, SECRET) as client:
        assert client.session is not None
