"""Contract: authentication refusals (spec §2.3) and transport failures, over real HTTP."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime, timedelta

import pytest
import requests
from requests.adapters import HTTPAdapter

from privatenumber import auth
from privatenumber.errors import PlatformError, PlatformTransientError
from simulator.testing import free_port
from tests.contract.conftest import AXB_X

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613900000002"


class TamperingAdapter(HTTPAdapter):
    """Changes the signed headers just before they go out, as a broken signer would."""

    def __init__(self, tamper: Callable[[MutableMapping[str, str]], None]) -> None:
        super().__init__()
        self.tamper = tamper

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:  # type: ignore[override]
        self.tamper(request.headers)
        return super().send(request, **kwargs)


def _refusal(client) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        client.axb_query(relation_num=AXB_X[0])
    return caught.value


def test_both_signing_schemes_are_accepted(client_for) -> None:
    for scheme in ("AKSK", "WSSE"):
        client = client_for("AXB", scheme=scheme)
        bound = client.axb_bind(area_code="0755", caller_num=A, callee_num=B)
        client.axb_unbind(subscription_id=bound.subscription_id)


def test_an_unknown_app_key_is_1010003(client_for) -> None:
    error = _refusal(client_for("AXB", app_key="nobodysKey"))
    assert (error.code, error.http_status, error.permanent) == ("1010003", 403, True)


def test_a_wrong_secret_is_refused_with_the_digest_placeholder(client_for) -> None:
    error = _refusal(client_for("AXB", app_secret="not-the-secret"))
    assert error.code == auth.CODE_BAD_DIGEST  # 1010012, UNCONFIRMED placeholder
    assert error.permanent


def test_a_stale_created_is_1010013(client_for, monkeypatch) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=10)
    monkeypatch.setattr(auth, "build_headers", functools.partial(auth.build_headers, created=stale))
    error = _refusal(client_for("AXB"))
    assert (error.code, error.http_status) == ("1010013", 400)
    assert "NTP" in error.action_en


def _drop(name: str) -> Callable[[MutableMapping[str, str]], None]:
    return lambda headers: headers.pop(name)


def _replace(name: str, old: str, new: str) -> Callable[[MutableMapping[str, str]], None]:
    def tamper(headers: MutableMapping[str, str]) -> None:
        headers[name] = headers[name].replace(old, new)

    return tamper


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        pytest.param(_drop("Authorization"), "1023006", id="no-authorization"),
        pytest.param(_drop("X-AKSK"), "1023033", id="no-x-aksk"),
        pytest.param(_replace("Authorization", 'realm="SDP",', ""), "1023007", id="no-realm"),
        pytest.param(_replace("Authorization", '"SDP"', '"XYZ"'), "1023009", id="bad-realm"),
        pytest.param(_replace("Authorization", '"Appkey"', '"Key"'), "1023011", id="bad-type"),
        pytest.param(_replace("X-AKSK", "Nonce=", "Once="), "1023035", id="no-nonce"),
        pytest.param(_replace("X-AKSK", "Created=", "Made="), "1023036", id="no-created"),
        pytest.param(_replace("X-AKSK", "PasswordDigest=", "Digest="), "1023037", id="no-digest"),
        pytest.param(_replace("X-AKSK", "UsernameToken ", "Token "), "1023038", id="no-token"),
    ],
)
def test_malformed_auth_headers_get_their_codes(client_for, tamper, code: str) -> None:
    client = client_for("AXB")
    client.session.mount("http://", TamperingAdapter(tamper))
    error = _refusal(client)
    assert (error.code, error.http_status, error.permanent) == (code, 400, True)


def test_a_wrong_uri_is_a_bare_404(client_for, simulator) -> None:
    error = _refusal(client_for("AXB", base_url=simulator.base_url + "/wrong-prefix"))
    assert (error.code, error.http_status, error.permanent) == ("HTTP404", 404, True)


def test_flow_control_is_transient_and_did_not_land(client_for, simulator) -> None:
    simulator.control.set_faults("axb.bind", error_rate=1, error_code="1010010")
    with pytest.raises(PlatformTransientError) as caught:
        client_for("AXB").axb_bind(area_code="0755", caller_num=A, callee_num=B)
    assert caught.value.code == "1010010"
    assert not caught.value.may_have_landed


def test_a_server_error_is_transient_and_may_have_landed(client_for, simulator) -> None:
    simulator.control.set_faults("axb.bind", http5xx_rate=1, http_status=503)
    with pytest.raises(PlatformTransientError) as caught:
        client_for("AXB").axb_bind(area_code="0755", caller_num=A, callee_num=B)
    assert (caught.value.code, caught.value.http_status) == ("1010001", 503)
    assert caught.value.may_have_landed


def test_a_dropped_connection_is_transient_and_may_have_landed(client_for, simulator) -> None:
    simulator.control.set_faults("axb.bind", drop_rate=1)
    with pytest.raises(PlatformTransientError) as caught:
        client_for("AXB").axb_bind(area_code="0755", caller_num=A, callee_num=B)
    assert caught.value.code == "CONNECTION"
    assert caught.value.may_have_landed


def test_a_bind_that_timed_out_landed_and_a_query_finds_it(client_for, simulator, calls) -> None:
    simulator.control.set_faults("axb.bind", latency_ms=1500)
    client = client_for("AXB", timeout=(3.05, 0.5))
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    assert caught.value.code == "TIMEOUT"
    assert caught.value.may_have_landed
    assert calls[-1].result_code == "TIMEOUT"
    simulator.control.clear_faults()
    # This is what the bind service does before retrying: ask whether the first attempt landed.
    # The simulator is still sleeping off the injected latency, so ask until it has finished.
    checker = client_for("AXB")
    deadline = time.monotonic() + 5
    while True:
        try:
            found = checker.axb_query(relation_num=AXB_X[0], caller_num=A)
            break
        except PlatformError as error:
            if error.code != "1016001" or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert [b.callee_num for b in found.relation_num_list] == [B]


def test_nothing_listening_is_transient_and_did_not_land(client_for) -> None:
    client = client_for("AXB", base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PlatformTransientError) as caught:
        client.axb_bind(area_code="0755", caller_num=A, callee_num=B)
    assert caught.value.code == "CONNECTION"
    assert not caught.value.may_have_landed


def test_every_call_is_reported_with_its_outcome(client_for, calls) -> None:
    client = client_for("AXB")
    bound = client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    with pytest.raises(PlatformError):
        client.axb_bind(relation_num=AXB_X[0], caller_num=A, callee_num=B)
    client.axb_unbind(subscription_id=bound.subscription_id)
    assert [(c.interface, c.method, c.http_status, c.result_code) for c in calls] == [
        ("axb_bind", "POST", 200, "0"),
        ("axb_bind", "POST", 403, "1012010"),
        ("axb_unbind", "DELETE", 200, "0"),
    ]
    assert all(c.latency_ms >= 0 for c in calls)
