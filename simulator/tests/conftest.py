"""Fixtures: a running simulator with one app of each mode, a push receiver, a signed API client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from privatenumber.auth import build_headers
from simulator.testing import SimulatorHandle, run_simulator

AXB_URI = "/rest/caas/relationnumber/partners/v1.0"
AX_URI = "/rest/provision/caas/privatenumber/v1.0"
AX_CALLEE_URI = "/rest/caas/privatenumber/calleenumber/v1.0"
AXE_URI = "/rest/caas/extendnumber/v1.0"
AXE_V2_URI = "/rest/caas/extendnumber/v2.0"
AXYB_URI = "/rest/omp/xyrelationnumber/v1.0"
STOP_URI = "/rest/httpsessions/callStop/v2.0"
RECORD_URI = "/rest/provision/voice/record/v1.0"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Receiver:
    """A customer server: records every push, fails the first ``fail_first`` of a path."""

    url: str = ""
    pushes: list[Received] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.pushes.clear()
            self.fail_first.clear()
            self.answers.clear()

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [p for p in self.pushes if p.path == path]

    def wait(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} pushes to {path}, got {len(self.of(path))}")


def _start_receiver() -> tuple[ThreadingHTTPServer, Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw)
            with receiver.lock:
                receiver.pushes.append(Received(self.path, dict(self.headers), body, time.time()))
                failing = receiver.fail_first.get(self.path, 0)
                if failing:
                    receiver.fail_first[self.path] = failing - 1
                answer = receiver.answers.get(self.path)
            if failing:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = json.dumps(answer(body)).encode() if answer else b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver


def app_config(mode: str, base: str, n_numbers: int = 4, **overrides: Any) -> dict[str, Any]:
    prefix = {"AXB": "170", "AX": "171", "AXE": "167", "AXYB": "165", "X": "162"}[mode]
    cities = ["0755", "0755", "020", "010", "021", "0571"]
    app = {
        "app_key": f"key{mode}0000000000000000000000001",
        "app_secret": f"secret{mode}000000000000000000001",
        "mode": mode,
        "status_url": f"{base}/status",
        "fee_url": f"{base}/fee",
        "sms_url": f"{base}/sms",
        "sms_control_url": f"{base}/sms-control",
        "xstatus_url": f"{base}/xstatus",
        "record": True,
        "sms": True,
        "extension_length": 2,
        "numbers": [
            {"number": f"+86{prefix}0000000{i + 1}", "city": cities[i % len(cities)]}
            for i in range(n_numbers)
        ],
    }
    app.update(overrides)
    return app


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    server, receiver = _start_receiver()
    yield receiver
    server.shutdown()


@pytest.fixture(scope="session")
def apps(receiver: Receiver) -> dict[str, dict[str, Any]]:
    return {mode: app_config(mode, receiver.url) for mode in ("AXB", "AX", "AXE", "AXYB", "X")}


@pytest.fixture(scope="session")
def shared_sim(apps: dict[str, dict[str, Any]]) -> Iterator[SimulatorHandle]:
    with run_simulator({"apps": list(apps.values())}, extra_args=["--cdr-window", "0.2"]) as sim:
        yield sim


@pytest.fixture
def sim(shared_sim: SimulatorHandle, receiver: Receiver) -> SimulatorHandle:
    """The shared simulator, reset: no bindings, pushes, faults or recordings; original apps."""
    shared_sim.control.reset(apps=True)
    receiver.clear()
    return shared_sim


@dataclass
class Api:
    """Signed requests to the simulator's platform interfaces, as one app."""

    base_url: str
    app: dict[str, Any]
    scheme: str = "AKSK"

    def __call__(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = build_headers(self.app["app_key"], self.app["app_secret"], self.scheme)
        sent["Content-Type"] = "application/json;charset=UTF-8"
        if headers is not None:
            sent = headers
        return requests.request(
            method,
            self.base_url + path,
            headers=sent,
            data=json.dumps(body) if body is not None else None,
            params=params,
            timeout=10,
            allow_redirects=False,
        )

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        response = self(method, path, body, params or None)
        data = response.json()
        assert response.status_code == 200, data
        assert data["resultcode"] == "0", data
        return data

    def fails(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        code: str,
        status: int = 403,
        **params: Any,
    ) -> dict[str, Any]:
        response = self(method, path, body, params or None)
        data = response.json()
        assert (response.status_code, data["resultcode"]) == (status, code), data
        return data


@pytest.fixture
def api(sim: SimulatorHandle, apps: dict[str, dict[str, Any]]) -> Callable[[str], Api]:
    return lambda mode: Api(sim.base_url, apps[mode])
