"""The console as `make run` serves it (the Procfile's gunicorn) survives slow clients and keeps
full numbers out of its access log (issue 13: ten idle half-sent requests stalled it for more
than 70 s; a search by number wrote the number to the log)."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from console.testing import database_url
from simulator.testing import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[1]


def procfile_web() -> list[str]:
    """The Procfile's web command, as `make run` starts it."""
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return shlex.split(line.removeprefix("web:"))
    raise AssertionError("no web process in the Procfile")


@contextmanager
def procfile_server(tmp_path: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """The Procfile's gunicorn on a free port of the test database; its access log in a file."""
    port = free_port()
    log = tmp_path / "access.log"
    command = procfile_web()
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    bind = command.index("--bind")
    command[bind + 1] = f"127.0.0.1:{port}"
    if "--access-logfile" in command:
        command[command.index("--access-logfile") + 1] = str(log)
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "CACHE_URL": "locmemcache://",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/admin/login/", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("gunicorn did not start") from None
                time.sleep(0.2)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


HEADER_TIMEOUT = 3  # seconds for a request to arrive (10 by default)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """One Procfile gunicorn for the module, on the test database."""
    with (
        django_db_blocker.unblock(),
        procfile_server(
            tmp_path_factory.mktemp("gunicorn"), GUNICORN_HEADER_TIMEOUT=str(HEADER_TIMEOUT)
        ) as running,
    ):
        yield running


def half_sent(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(data)
    return sock


def test_ten_idle_half_sent_requests_do_not_stall_the_server(server):
    url, _log = server
    port = int(url.rsplit(":", 1)[1])
    # given ten requests whose headers stop half-way, and ten whose body does
    idle = [
        half_sent(port, b"GET /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(10)
    ]
    idle += [
        half_sent(
            port,
            b"POST /hooks/fee HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nContent-Length: 1000\r\n\r\n{",
        )
        for _ in range(10)
    ]
    time.sleep(0.5)
    try:
        # when someone asks for a page (on main this waited more than 70 s)
        answers = [requests.get(f"{url}/admin/login/", timeout=5) for _ in range(8)]
        # then every one is answered at once
        assert [answer.status_code for answer in answers] == [200] * 8
    finally:
        for sock in idle:
            sock.close()


def test_a_request_that_does_not_arrive_in_time_is_answered_408_and_closed(server):
    url, _log = server
    port = int(url.rsplit(":", 1)[1])
    sock = half_sent(port, b"GET /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sock.settimeout(10)
    answer = sock.recv(1024)
    assert answer.startswith(b"HTTP/1.1 408")
    assert sock.recv(1024) == b""  # closed
    sock.close()


def test_the_access_log_masks_the_numbers_searched_for(server):
    url, log = server
    for query in ("q=%2B8613812345678", "q=138+1234+5678", "x=13912345678&page=2"):
        requests.get(f"{url}/calls/?{query}", timeout=5, allow_redirects=False)
    requests.get(
        f"{url}/admin/login/",
        headers={"Referer": f"{url}/?q=%2B8613812345678"},
        timeout=5,
    )
    time.sleep(0.3)
    text = log.read_text()
    assert text.count("/calls/?") == 3
    for full in ("8613812345678", "13812345678", "13912345678", "138+1234+5678"):
        assert full not in text
    assert "q=+86138****5678" in text
    assert "x=139****5678" in text


def test_bodies_small_and_large_are_served_whole(server):
    """A push (read before a thread is given) and a body over 1 MB (read by the thread)."""
    from billing.models import CallRecord
    from billing.tests.factories import fee, fee_push
    from console.testing.factories import ApplicationFactory, signed

    application = ApplicationFactory()
    url, _log = server
    small = requests.post(
        f"{url}/hooks/fee",
        data=fee_push(fee(application)),
        headers={"Content-Type": "application/json", **signed(application)},
        timeout=10,
    )
    large = requests.post(f"{url}/admin/login/", data=b"x" * (3 * 1024 * 1024), timeout=10)
    assert small.status_code == 200
    assert CallRecord.objects.filter(application=application).count() == 1
    assert large.status_code == 403  # read whole, then refused for its missing CSRF token
