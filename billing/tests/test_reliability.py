"""20,000 CDRs arrive exactly once although the receiver fails 30 % of requests and restarts.

Real parts only: the platform simulator (a subprocess) pushes CDRs, 50 per message, on its
retry schedule (time-scaled); a fault-injecting reverse proxy in this process fails 15 % of
requests before forwarding them and 15 % after the console processed them (answered 502, so the
platform retries what is already stored); the console runs under gunicorn on the test's
PostgreSQL database and is restarted once in the middle.

It runs twice: with the platform signing every retry anew, and with every retry carrying its
first attempt's header (same Nonce and Created: whether the real platform does so is not
documented, spec §6.0). Either way nothing is lost and nothing waits for a person: a retry whose
body was stored is answered as a duplicate, one whose body was not is applied.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

from billing.models import CallRecord
from console.models import Delivery
from console.testing.factories import ApplicationFactory, secret_for
from privatenumber.client import PrivateNumberClient
from simulator.testing import free_port, run_simulator

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.simulator,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

REPO = Path(__file__).resolve().parents[2]
CDRS = 20_000
X = "+8617000000001"


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


class ConsoleServer:
    """The console under gunicorn (the hooks entry point) on the test database."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CACHE_URL": "locmemcache://",
            "LOG_LEVEL": "ERROR",
        }
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "shell.hooks_wsgi:application",
                "--workers",
                "3",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "error",
            ],
            cwd=REPO,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the console did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()


class FaultyProxy(ThreadingHTTPServer):
    """Forwards pushes to the console; fails ``rate`` of them, half before, half after.

    One body is never failed more than ``cap`` times, so every push gets through within the
    platform's six retries (with 30 % independent failures, 0.3^7 of 400 pushes would otherwise
    be dropped by the platform about once in twelve runs). Refused connections while the console
    restarts count as failures too.
    """

    daemon_threads = True

    def __init__(self, upstream_port: int, rate: float, cap: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port = upstream_port
        self.rate = rate
        self.cap = cap
        self.random = random.Random(20261121)
        self.lock = threading.Lock()
        self.failures: dict[str, int] = {}
        self.counts = {"requests": 0, "before": 0, "after": 0, "upstream_down": 0, "ok": 0}
        # Decisions of the dice (a body failed `cap` times is not thrown for: "capped").
        self.fates = {"before": 0, "after": 0, "forward": 0, "capped": 0}
        self.upstream_statuses: dict[int, int] = {}
        self.headers: dict[str, set[str]] = {}  # body digest -> the auth headers it came with

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fate(self, digest: str) -> str:
        with self.lock:
            self.counts["requests"] += 1
            draw = self.random.random()
            if self.failures.get(digest, 0) >= self.cap:
                fate = "capped"
            elif draw < self.rate / 2:
                fate = "before"
            elif draw < self.rate:
                fate = "after"
            else:
                fate = "forward"
            self.fates[fate] += 1
            return "forward" if fate == "capped" else fate

    def saw(self, digest: str, header: str) -> None:
        with self.lock:
            self.headers.setdefault(digest, set()).add(header)

    def count(self, what: str, digest: str | None = None) -> None:
        with self.lock:
            self.counts[what] += 1
            if digest is not None:
                self.failures[digest] = self.failures.get(digest, 0) + 1


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FaultyProxy

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        digest = hashlib.sha256(body).hexdigest()
        self.server.saw(digest, self.headers.get("X-AKSK", ""))
        fate = self.server.fate(digest)
        if fate == "before":
            self.server.count("before", digest)
            return self._answer(503, b"injected failure before forwarding")
        try:
            upstream = http.client.HTTPConnection(
                "127.0.0.1", self.server.upstream_port, timeout=30
            )
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request("POST", self.path, body=body, headers=headers)
            reply = upstream.getresponse()
            status, content = reply.status, reply.read()
            upstream.close()
        except OSError:
            self.server.count("upstream_down", digest)
            return self._answer(502, b"console unreachable")
        if fate == "after":
            self.server.count("after", digest)
            return self._answer(502, b"injected failure after forwarding")
        with self.server.lock:
            self.server.upstream_statuses[status] = self.server.upstream_statuses.get(status, 0) + 1
        if status != 200:
            self.server.count("upstream_down", digest)
        else:
            self.server.count("ok")
        return self._answer(status, content)

    def _answer(self, status: int, content: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


@contextmanager
def running(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("retry_header", ["resign", "reuse"])
def test_twenty_thousand_cdrs_are_stored_exactly_once_through_faults_and_a_restart(retry_header):
    # given
    application = ApplicationFactory(mode="AXB")
    console = ConsoleServer()
    try:
        console.start()
        with (
            running(FaultyProxy(console.port, rate=0.3, cap=3)) as proxy,
            run_simulator(
                {
                    "apps": [
                        {
                            "app_key": application.app_key,
                            "app_secret": secret_for(application.app_key),
                            "mode": "AXB",
                            "fee_url": f"{proxy.url}/hooks/fee",
                            "numbers": [{"number": X, "city": "0755"}],
                        }
                    ]
                },
                time_scale=600,
                push_retry_header=retry_header,
            ) as sim,
        ):
            with PrivateNumberClient(
                sim.base_url, application.app_key, secret_for(application.app_key), timeout=10
            ) as platform:
                for i in range(20):
                    platform.axb_bind(
                        caller_num=f"+86138000001{i:02d}",
                        callee_num=f"+86139000001{i:02d}",
                        relation_num=X,
                    )
            # when
            sim.control.bulk_calls(application.app_key, CDRS, events=False, duration=[5, 600])
            deadline = time.monotonic() + 60
            while proxy.counts["ok"] < 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            console.restart()
            summary = _wait_until_settled(sim, timeout=180)
            pushes = sim.control.pushes(kind="fee", limit=1000)
    finally:
        console.stop()
    # then: the platform delivered everything, retrying what failed
    assert summary.get("failed", 0) == 0, summary
    sent = {cdr["icid"] for push in pushes for cdr in push["body"]["feeLst"]}
    assert len(sent) == CDRS
    retried = [p for p in pushes if p["retries"]]
    assert retried, "no push needed a retry: the faults did not happen"
    # the retries came signed as the mode says
    seen_again = [headers for headers in proxy.headers.values() if len(headers) > 1]
    if retry_header == "reuse":
        assert seen_again == [], "a retry came with a new header"
    else:
        assert seen_again, "no retry came with a new header"
    # 30 % of the requests the dice were thrown for failed on purpose, half of them after the
    # console stored them
    thrown = proxy.fates["before"] + proxy.fates["after"] + proxy.fates["forward"]
    injected = (proxy.fates["before"] + proxy.fates["after"]) / thrown
    assert 0.25 < injected < 0.35, (proxy.fates, proxy.counts, proxy.upstream_statuses)
    # stored, yet answered 502 (how many depends on how long the restart kept the console away)
    assert proxy.counts["after"] > 0, (proxy.counts, proxy.upstream_statuses)
    assert proxy.counts["upstream_down"] > 0, proxy.counts  # the restart was felt
    # exactly every CDR once, nothing lost, nothing twice
    assert CallRecord.objects.count() == CDRS
    assert set(CallRecord.objects.values_list("icid", flat=True)) == sent
    # one inbox row per push, all applied: none held, none waiting for a person
    assert Delivery.objects.count() == len(pushes)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"processed"}


def _wait_until_settled(sim, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        summary = sim.control.request("GET", "pushes/summary")
        busy = summary.get("pending", 0) + summary.get("sending", 0) + summary["cdrBuffered"]
        if not busy and summary.get("delivered"):
            return summary
        if time.monotonic() > deadline:
            pytest.fail(f"pushes still in flight after {timeout} s: {summary}")
        time.sleep(0.25)
