"""Contract: the recording download address (spec §5.5) over real HTTP."""

from __future__ import annotations

import pytest
import requests

from privatenumber.errors import PlatformError
from tests.contract.conftest import AXB_X

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613900000002"


@pytest.fixture
def recorded_cdr(client_for, simulator) -> dict:
    """The CDR of a recorded, answered 20-second call on an AXB binding."""
    client_for("AXB").axb_bind(
        relation_num=AXB_X[0], caller_num=A, callee_num=B, record_flag="true"
    )
    call = simulator.control.place_call(A, AXB_X[0], "answered", duration=20)
    cdr = call["cdr"]
    assert cdr["recordFlag"] == 1
    return cdr


def test_it_answers_the_download_address_with_a_301(client_for, recorded_cdr, calls) -> None:
    client = client_for("AXB")
    location = client.recording_download_url(
        recorded_cdr["recordObjectName"], recorded_cdr["recordDomain"]
    )
    assert location.startswith("http")
    assert (calls[-1].interface, calls[-1].http_status, calls[-1].result_code) == (
        "recording_download_url",
        301,
        None,
    )
    # The address serves the WAV file (the client itself never follows it).
    with requests.get(location, timeout=10, stream=True) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.raw.read(4) == b"RIFF"


def test_any_mode_may_ask_for_its_recordings(client_for, simulator) -> None:
    client = client_for("AX")
    client.ax_bind(orig_num=A, private_num="+8617100020001", record_flag="true")
    client.ax_set_temporary_callee(orig_num=A, private_num="+8617100020001", callee_num=B)
    cdr = simulator.control.place_call(B, "+8617100020001", "answered", duration=20)["cdr"]
    assert client.recording_download_url(cdr["recordObjectName"], cdr["recordDomain"])


def test_an_unknown_recording_is_1012007(client_for, recorded_cdr) -> None:
    client = client_for("AXB")
    with pytest.raises(PlatformError) as caught:
        client.recording_download_url("20190123091514-unknown.wav", recorded_cdr["recordDomain"])
    assert (caught.value.code, caught.value.permanent) == ("1012007", True)
    assert "7 days" in caught.value.action_en


def test_a_recording_of_another_app_is_1012007(client_for, recorded_cdr) -> None:
    with pytest.raises(PlatformError) as caught:
        client_for("AXE").recording_download_url(
            recorded_cdr["recordObjectName"], recorded_cdr["recordDomain"]
        )
    assert caught.value.code == "1012007"


def test_a_recording_with_the_wrong_domain_is_1012007(client_for, recorded_cdr) -> None:
    with pytest.raises(PlatformError) as caught:
        client_for("AXB").recording_download_url(recorded_cdr["recordObjectName"], "elsewhere")
    assert caught.value.code == "1012007"
