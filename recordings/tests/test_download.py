"""The downloader against the simulator's file server (and a small odd one), over real HTTP."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from recordings.download import Downloader, DownloadFailed
from recordings.tests.conftest import APP_KEY, APP_SECRET, X_NUMBERS, A, B
from simulator.recordings import stream, wav_size
from simulator.testing import REPO_ROOT

pytestmark = pytest.mark.simulator


class RecordedCall:
    """A recorded call on the simulator, the platform's facts about its file, and addresses."""

    def __init__(self, sim, seconds: int) -> None:
        from privatenumber.client import PrivateNumberClient

        sim.control.clear_faults()
        sim.control.reset()
        self.sim = sim
        self.client = PrivateNumberClient(sim.base_url, APP_KEY, APP_SECRET)
        self.client.axb_bind(
            relation_num=X_NUMBERS[0], caller_num=A, callee_num=B, record_flag="true"
        )
        self.cdr = sim.control.place_call(A, X_NUMBERS[0], "answered", duration=seconds)["cdr"]
        self.info = sim.control.recording_info(self.cdr["recordObjectName"])
        self.refreshes = 0

    def address(self, refresh: bool) -> str:
        self.refreshes += refresh
        return self.client.recording_download_url(
            self.cdr["recordObjectName"], self.cdr["recordDomain"]
        )


@pytest.fixture
def recorded(simulator_process):
    calls = []

    def make(seconds: int = 30) -> RecordedCall:
        call = RecordedCall(simulator_process, seconds)
        calls.append(call)
        return call

    yield make
    simulator_process.control.clear_faults()
    for call in calls:
        call.client.close()


def downloader(**options) -> Downloader:
    options.setdefault("sleep", lambda seconds: None)
    return Downloader(requests.Session(), timeout=(3, 10), **options)


def test_it_downloads_a_recording_byte_exact(recorded, tmp_path):
    # given
    call = recorded(45)
    # when
    with open(tmp_path / "f.wav", "w+b") as dest:
        result = downloader().fetch(call.address, dest)
    # then
    assert (result.size, result.sha256) == (call.info["size"], call.info["sha256"])
    assert hashlib.sha256((tmp_path / "f.wav").read_bytes()).hexdigest() == call.info["sha256"]
    assert (result.requests, result.resumed, result.restarted) == (1, 0, 0)


def test_it_resumes_with_a_range_where_the_connection_dropped(recorded, tmp_path):
    # given a file server that cuts the next two downloads mid-file
    call = recorded(120)
    call.sim.control.set_faults("record.download", drop_mid_rate=1.0, times=2)
    # when
    with open(tmp_path / "f.wav", "w+b") as dest:
        result = downloader().fetch(call.address, dest)
    # then the file is whole and was fetched in three pieces, never from the start again
    assert (result.size, result.sha256) == (call.info["size"], call.info["sha256"])
    assert (result.requests, result.resumed, result.restarted) == (3, 2, 0)


def test_it_retries_a_failing_file_server(recorded, tmp_path):
    call = recorded(10)
    call.sim.control.set_faults("record.download", fail_rate=1.0, times=3)
    with open(tmp_path / "f.wav", "w+b") as dest:
        result = downloader().fetch(call.address, dest)
    assert (result.sha256, result.requests) == (call.info["sha256"], 4)


def test_a_file_server_that_keeps_failing_is_a_transient_failure(recorded, tmp_path):
    call = recorded(10)
    call.sim.control.set_faults("record.download", fail_rate=1.0)
    with open(tmp_path / "f.wav", "w+b") as dest, pytest.raises(DownloadFailed) as caught:
        downloader(attempts=3).fetch(call.address, dest)
    assert (caught.value.code, caught.value.transient, caught.value.gone) == (
        "INCOMPLETE",
        True,
        False,
    )
    assert "HTTP 500" in caught.value.message


def test_an_expired_address_is_replaced_by_a_fresh_one(recorded, tmp_path):
    # given an address that no longer works (the simulator answers 404 for an unknown token)
    call = recorded(10)
    stale = f"{call.sim.base_url}/_sim/files/{'0' * 32}/{call.cdr['recordObjectName']}"

    def address(refresh: bool) -> str:
        return call.address(refresh) if refresh else stale

    # when
    with open(tmp_path / "f.wav", "w+b") as dest:
        result = downloader().fetch(address, dest)
    # then
    assert result.sha256 == call.info["sha256"]
    assert call.refreshes == 1


def test_a_file_that_a_fresh_address_does_not_serve_either_is_gone(recorded, tmp_path):
    call = recorded(10)
    stale = f"{call.sim.base_url}/_sim/files/{'0' * 32}/gone.wav"
    with open(tmp_path / "f.wav", "w+b") as dest, pytest.raises(DownloadFailed) as caught:
        downloader().fetch(lambda refresh: stale, dest)
    assert (caught.value.code, caught.value.transient, caught.value.gone) == ("GONE", False, True)


def test_a_file_larger_than_the_call_could_produce_is_refused(recorded, tmp_path):
    call = recorded(60)
    with open(tmp_path / "f.wav", "w+b") as dest, pytest.raises(DownloadFailed) as caught:
        downloader(max_bytes=100_000).fetch(call.address, dest)
    assert (caught.value.code, caught.value.transient) == ("TOO_LARGE", False)


class _IgnoresRange(BaseHTTPRequestHandler):
    """Serves a 20-s recording with 200 whatever the Range, cutting the first answer short."""

    body = b"".join(stream("odd", 20))
    served = 0
    ranges: list[str | None] = []

    def do_GET(self) -> None:
        type(self).ranges.append(self.headers.get("Range"))
        type(self).served += 1
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if type(self).served == 1:
            self.wfile.write(self.body[:100_000])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def test_a_server_that_ignores_the_range_makes_it_start_over(tmp_path):
    # given a server that cuts the first answer and answers 200 to the resumed request
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IgnoresRange)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/f.wav"
    try:
        # when
        with open(tmp_path / "f.wav", "w+b") as dest:
            result = downloader().fetch(lambda refresh: url, dest)
    finally:
        server.shutdown()
    # then the partial bytes were thrown away and the file is exactly the served one
    first, resumed = _IgnoresRange.ranges
    assert first is None
    assert 0 < int(resumed.removeprefix("bytes=").removesuffix("-")) <= 100_000
    assert (result.size, result.restarted) == (wav_size(20), 1)
    assert result.sha256 == hashlib.sha256(_IgnoresRange.body).hexdigest()
    assert (tmp_path / "f.wav").read_bytes() == _IgnoresRange.body


_MEASURE = """
import json, sys, requests
from recordings.download import Downloader
url, path = sys.argv[1], sys.argv[2]
with open(path, "w+b") as dest:
    result = Downloader(requests.Session(), timeout=(3, 30)).fetch(lambda refresh: url, dest)
status = open("/proc/self/status").read()
peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
print(json.dumps({"size": result.size, "sha256": result.sha256, "peak_kib": peak}))
"""


@pytest.mark.slow
def test_a_200_mb_recording_downloads_in_bounded_memory(recorded, tmp_path):
    # given a call long enough for a 200 MB file (8 kHz 16-bit: 16,000 bytes a second)
    call = recorded(13_108)
    assert call.info["size"] > 200_000_000
    url = call.address(False)
    # when a separate process downloads it (its peak RSS is then the download's alone)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, url, str(tmp_path / "big.wav")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    measured = json.loads(out.stdout)
    # then the file is exact and the process never held more than a small fraction of it
    assert (measured["size"], measured["sha256"]) == (call.info["size"], call.info["sha256"])
    assert measured["peak_kib"] < 80 * 1024, measured
