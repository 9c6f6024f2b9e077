"""Recordings: CDR fields, the 301 download address, the streamed WAV, Range, expiry, faults."""

from __future__ import annotations

import hashlib
import io
import time
import wave
from typing import Any

import pytest
import requests

from simulator.testing import run_simulator
from simulator.tests.conftest import AXB_URI, RECORD_URI, Api, app_config

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613800000002"


def _recorded_cdr(sim: Any, api: Api, receiver: Any, seconds: int) -> dict[str, Any]:
    bound = api.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "recordFlag": "true"})
    sim.control.place_call(A, bound["relationNum"], duration=seconds)
    [fee] = receiver.wait("/fee", 1)
    return fee.body["feeLst"][0]


def _location(api: Api, cdr: dict[str, Any]) -> str:
    response = api(
        "GET",
        RECORD_URI,
        params={"fileName": cdr["recordObjectName"], "recordDomain": cdr["recordDomain"]},
    )
    assert response.status_code == 301, response.text
    return response.headers["Location"]


def test_a_recorded_call_announces_its_file_and_serves_it(
    sim: Any, api: Any, receiver: Any
) -> None:
    axb = api("AXB")
    cdr = _recorded_cdr(sim, axb, receiver, 60)
    assert cdr["recordFlag"] == 1
    assert cdr["recordObjectName"].endswith(".wav")
    # no party's number in the file name (its digits, not any "138": the name holds a timestamp)
    assert not any(number[3:] in cdr["recordObjectName"] for number in (A, B))
    assert cdr["recordStartTime"] == cdr["fwdAnswerTime"]
    info = sim.control.recording_info(cdr["recordObjectName"])
    assert info["size"] == 44 + 60 * 16000
    response = requests.get(_location(axb, cdr), timeout=10)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == info["size"]
    assert hashlib.sha256(response.content).hexdigest() == info["sha256"]
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() == 60 * 8000
    # Range: a client can resume.
    location = _location(axb, cdr)
    part = requests.get(location, headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{info['size']}"
    assert part.content == response.content[1000:2000]
    tail = requests.get(location, headers={"Range": "bytes=-100"}, timeout=10)
    assert tail.content == response.content[-100:]
    rest = requests.get(location, headers={"Range": "bytes=500000-"}, timeout=10)
    assert rest.content == response.content[500000:]
    beyond = requests.get(location, headers={"Range": f"bytes={info['size']}-"}, timeout=10)
    assert beyond.status_code == 416


def test_short_or_unrecorded_calls_have_no_recording(sim: Any, api: Any, receiver: Any) -> None:
    cdr = _recorded_cdr(sim, api("AXB"), receiver, 3)
    assert cdr["recordFlag"] == 0
    assert "recordObjectName" not in cdr


def test_an_unknown_file_is_refused(api: Any) -> None:
    api("AXB").fails(
        "GET",
        RECORD_URI,
        code="1012007",
        fileName="nothing.wav",
        recordDomain="record.simulator.local",
    )


def test_a_long_recording_streams_and_resumes(sim: Any, api: Any, receiver: Any) -> None:
    axb = api("AXB")
    cdr = _recorded_cdr(sim, axb, receiver, 3600)  # 57.6 MB
    info = sim.control.recording_info(cdr["recordObjectName"])
    digest = hashlib.sha256()
    half = info["size"] // 2
    with requests.get(
        _location(axb, cdr), headers={"Range": f"bytes=0-{half - 1}"}, stream=True, timeout=30
    ) as r:
        for chunk in r.iter_content(1 << 20):
            digest.update(chunk)
    with requests.get(
        _location(axb, cdr), headers={"Range": f"bytes={half}-"}, stream=True, timeout=30
    ) as r:
        for chunk in r.iter_content(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == info["sha256"]


def test_download_faults_fail_or_cut_the_file(sim: Any, api: Any, receiver: Any) -> None:
    axb = api("AXB")
    cdr = _recorded_cdr(sim, axb, receiver, 600)
    location = _location(axb, cdr)
    sim.control.set_faults("record.download", fail_rate=1.0, times=1)
    assert requests.get(location, timeout=10).status_code == 500
    sim.control.set_faults("record.download", drop_mid_rate=1.0, times=1)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(location, timeout=10).raise_for_status()
    assert requests.get(location, timeout=10).status_code == 200  # the faults were used up


def test_recordings_and_their_addresses_expire(receiver: Any) -> None:
    app = app_config("AXB", receiver.url)
    receiver.clear()
    # 7 days -> about 3 s; the 30-minute address -> 9 ms.
    with run_simulator({"apps": [app]}, time_scale=200000) as sim:
        axb = Api(sim.base_url, app)
        cdr = _recorded_cdr(sim, axb, receiver, 10)
        location = _location(axb, cdr)
        time.sleep(0.1)
        assert requests.get(location, timeout=10).status_code == 404
        assert requests.get(_location(axb, cdr), timeout=10).status_code in (200, 404)
        time.sleep(3.5)
        axb.fails(
            "GET",
            RECORD_URI,
            code="1012007",
            fileName=cdr["recordObjectName"],
            recordDomain=cdr["recordDomain"],
        )
    receiver.clear()
