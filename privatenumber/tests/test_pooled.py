"""The pooled, kept-alive session against a real local HTTP server (issue 19).

The server below counts the TCP connections it accepts and the requests it reads, and can drop a
kept-alive connection the ways a platform does: closed after its answer, reset while idle in the
client's pool, or closed after reading a request without answering it.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.connectionpool

from privatenumber.client import CallLog, PrivateNumberClient
from privatenumber.errors import PlatformTransientError
from privatenumber.transport import pooled_session

APP_KEY = "a1d1f50cad21415fbdd13d8f53d36d60"
SECRET = "Vb2Yx7rQ9sLk3mNp-secret"
A = "+8613800000001"
B = "+8613900000002"

ANSWER = json.dumps({"resultcode": "0", "resultdesc": "Success", "subscriptionId": "s-1"}).encode()


class Platform:
    """A minimal HTTP/1.1 server on 127.0.0.1, one thread per connection.

    ``after_answer`` says what it does once it has answered: "keep" the connection alive, or
    "close" it (FIN). ``drop_unanswered`` makes it read the next request and close without an
    answer. ``reset_idle()`` resets (RST) every connection waiting for its next request.
    """

    def __init__(self, after_answer: str = "keep", answer: bytes | None = None) -> None:
        self.after_answer = after_answer
        self.answer = answer or (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
            + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
            + ANSWER
        )
        self.drop_unanswered = False
        self.accepted = 0
        self.closed = 0
        self.requests: list[bytes] = []
        self.idle: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                with self.lock:
                    self.idle.add(conn)
                try:
                    head = self._read_head(reader)
                except OSError:
                    return
                with self.lock:
                    self.idle.discard(conn)
                if head is None:
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = reader.read(length) if length else b""
                with self.lock:
                    self.requests.append(head + body)
                if self.drop_unanswered:
                    return
                conn.sendall(self.answer)
                if self.after_answer == "close":
                    return
        finally:
            with self.lock:
                self.idle.discard(conn)
            reader.close()
            conn.close()
            with self.lock:
                self.closed += 1

    @staticmethod
    def _read_head(reader: Any) -> bytes | None:
        lines = []
        while True:
            line = reader.readline()
            if not line:
                return None
            if line == b"\r\n":
                return b"".join(lines)
            lines.append(line)

    def reset_idle(self) -> int:
        """Reset every connection waiting for a request, and wait until they are gone.

        SO_LINGER 0 makes the close send RST rather than FIN; shutting down the reading side
        wakes the connection's thread (Linux sends nothing for it), which then closes.
        """
        with self.lock:
            idle = list(self.idle)
            closed = self.closed
        for conn in idle:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.shutdown(socket.SHUT_RD)
        wait_for(lambda: self.closed == closed + len(idle))
        return len(idle)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def platform() -> Iterator[Platform]:
    server = Platform()
    yield server
    server.close()


def client(url: str, calls: list[CallLog] | None = None) -> PrivateNumberClient:
    """A client on the process's pooled session, as console.gateway.client_for makes them."""
    return PrivateNumberClient(
        url,
        APP_KEY,
        SECRET,
        timeout=(2, 5),
        on_call=calls.append if calls is not None else None,
        session=pooled_session(url),
    )


def bind(url: str, calls: list[CallLog] | None = None) -> str:
    with client(url, calls) as one:
        return one.axb_bind(caller_num=A, callee_num=B).subscription_id


def wait_for(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("condition not reached in 2 s")


def test_binds_of_one_process_share_one_kept_alive_connection(platform: Platform) -> None:
    # given five clients made one after the other, each closed after its bind
    # when each binds once
    results = [bind(platform.url) for _ in range(5)]

    # then the five requests went over one TCP connection
    assert results == ["s-1"] * 5
    assert len(platform.requests) == 5
    assert platform.accepted == 1


def test_an_answer_left_unread_by_the_caller_still_frees_its_connection() -> None:
    # given a platform answering the recording address with a 301 that has a body
    body = b"<html>moved</html>"
    server = Platform(
        answer=b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://obs.example/r.wav\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    try:
        # when two addresses are asked one after the other (only the Location is read)
        for _ in range(2):
            with client(server.url) as one:
                assert one.recording_download_url("r.wav", "obs.example") == (
                    "https://obs.example/r.wav"
                )
        # then the body was read off the connection, which carried the second request too
        assert len(server.requests) == 2
        assert server.accepted == 1
    finally:
        server.close()


def test_a_request_carries_the_headers_the_session_always_sent(platform: Platform) -> None:
    bind(platform.url)
    head = platform.requests[0].split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("post /rest/caas/relationnumber/partners/v1.0 http/1.1")
    for header in (
        "user-agent: python-requests/",
        "accept-encoding: gzip, deflate",
        "accept: application/json",
        "content-type: application/json;charset=utf-8",
        "connection: keep-alive",
        "authorization: ",
        "x-aksk: usernametoken ",
    ):
        assert f"\r\n{header}" in head, header


def test_its_session_is_one_per_process_and_base_url(platform: Platform) -> None:
    assert pooled_session(platform.url) is pooled_session(platform.url + "/")
    assert pooled_session(platform.url) is not pooled_session("http://127.0.0.1:9")


def test_a_forked_child_opens_its_own_connection(platform: Platform) -> None:
    # given the parent has a kept-alive connection in its pool
    bind(platform.url)
    parent_session = pooled_session(platform.url)

    # when a forked child (a Celery prefork worker) binds
    pid = os.fork()
    if pid == 0:  # the child: report by exit status only
        ok = pooled_session(platform.url) is not parent_session and bind(platform.url) == "s-1"
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)

    # then it had a session of its own and connected anew; the parent's connection still works
    assert os.waitstatus_to_exitcode(status) == 0
    assert platform.accepted == 2
    bind(platform.url)
    assert platform.accepted == 2
    assert len(platform.requests) == 3


def test_a_connection_the_platform_closes_after_its_answer_is_replaced() -> None:
    # given a platform that closes every connection after its answer (spec §1.1)
    platform = Platform(after_answer="close")
    try:
        for _ in range(3):
            closed = platform.closed
            bind(platform.url)
            wait_for(lambda closed=closed: platform.closed == closed + 1)  # its close has happened

        # then every bind went through, each on a new connection
        assert len(platform.requests) == 3
        assert platform.accepted == 3
    finally:
        platform.close()


def test_an_idle_connection_the_platform_reset_is_replaced_before_sending(
    platform: Platform,
) -> None:
    # given a kept-alive connection the platform then resets while it is idle in the pool
    bind(platform.url)
    wait_for(lambda: len(platform.idle) == 1)
    assert platform.reset_idle() == 1

    # when the next bind goes out
    calls: list[CallLog] = []
    assert bind(platform.url, calls) == "s-1"

    # then urllib3 saw it dropped and opened a new one; one call, which succeeded
    assert platform.accepted == 2
    assert len(platform.requests) == 2
    assert [call.result_code for call in calls] == ["0"]


def test_a_reset_that_slips_past_the_check_is_sent_again_on_a_new_connection(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a kept-alive connection the platform resets while it is idle, and urllib3's check of
    # an idle connection made just before the reset (the race every pool has)
    bind(platform.url)
    wait_for(lambda: len(platform.idle) == 1)
    assert platform.reset_idle() == 1
    monkeypatch.setattr(urllib3.connectionpool, "is_connection_dropped", lambda conn: False)

    # when the next bind goes out over that connection
    calls: list[CallLog] = []
    assert bind(platform.url, calls) == "s-1"

    # then its first write failed, nothing of it left, and it was sent once on a new connection:
    # the platform read two requests in all, one per bind, and the call is logged once, a success
    assert platform.accepted == 2
    assert len(platform.requests) == 2
    assert [call.result_code for call in calls] == ["0"]


def test_a_request_the_platform_read_and_dropped_may_have_landed(platform: Platform) -> None:
    # given a kept-alive connection, and a platform that reads the next request and then closes
    # the connection without answering
    bind(platform.url)
    platform.drop_unanswered = True

    # when the next bind goes out
    calls: list[CallLog] = []
    with pytest.raises(PlatformTransientError) as dropped:
        bind(platform.url, calls)

    # then it is not sent again: it may have landed, as before pooling
    assert dropped.value.may_have_landed is True
    assert "connection dropped" in str(dropped.value)
    assert len(platform.requests) == 2
    assert platform.accepted == 1
    assert [call.result_code for call in calls] == ["CONNECTION"]


def test_a_client_of_its_own_closes_its_session_when_closed(platform: Platform) -> None:
    # given a client made without a shared session
    with PrivateNumberClient(platform.url, APP_KEY, SECRET) as own:
        own.axb_bind(caller_num=A, callee_num=B)
        own.axb_bind(caller_num=A, callee_num=B)
    # then its two binds shared a connection, which closing the client closed
    assert platform.accepted == 1
    wait_for(lambda: platform.closed == 1)
