"""One platform call's client CPU: the console's transport beside urllib3 alone, alternating.

A bind's worker spends about half of its CPU on its one platform call (docs/benchmarks.md). This
measures that call without Django, Celery or a database, against a local HTTP/1.1 server in a
process of its own that keeps connections alive and answers every request with a bind's answer:

* **console**: ``PrivateNumberClient.axb_bind`` on the process's pooled session
  (``privatenumber.transport.pooled_session``), as ``console.gateway.client_for`` makes it:
  the request model built and validated, signed (AKSK), sent, the answer validated into its
  response model, the call handed to ``on_call``;
* **session.request**: the same bytes (headers signed once) through ``requests``' own
  ``Session.request`` on a session like the transport's: what the transport used until it handed
  prepared requests to the session's adapter itself;
* **anchor**: the same bytes through urllib3's connection pool and ``json.loads``, nothing else:
  the floor of a kept-alive HTTP/1.1 exchange from Python.

Each round runs ``--calls`` calls each way, the order of the ways rotating from round to round;
the CPU is the calling thread's (``time.thread_time``), the server's is not counted. The run
checks that every answer was read (the subscription id), that the server read every request, and
that each way used one connection.

    python -m bench platform_call [--rounds 8] [--calls 1000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import threading
import time
from typing import Any

import requests
import urllib3

from privatenumber import auth
from privatenumber.client import CallLog, PrivateNumberClient
from privatenumber.transport import new_session, pooled_session

APP_KEY = "benchPlatformCallKey"
SECRET = "bench-platform-call-secret"  # noqa: S105 - a throw-away benchmark application
A = "+8613800000001"
B = "+8613900000002"
ANSWER = json.dumps(
    {
        "resultcode": "0",
        "resultdesc": "Success",
        "subscriptionId": "bench-sub-1",
        "relationNum": "+8617000000001",
    }
).encode()
BIND_PATH = "/rest/caas/relationnumber/partners/v1.0"


def _serve(listener: socket.socket, counts: Any) -> None:
    """Answer every request of every connection with ANSWER; count connections and requests."""

    def one(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if not line:
                    return
                reader.read(length)
                with counts.get_lock():
                    counts[1] += 1
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
                    + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
                    + ANSWER
                )
        finally:
            reader.close()
            conn.close()

    while True:
        conn, _ = listener.accept()
        with counts.get_lock():
            counts[0] += 1
        threading.Thread(target=one, args=(conn,), daemon=True).start()


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench platform_call")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=1000)
    options = parser.parse_args(args)

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    counts = multiprocessing.Array("l", 2)  # connections accepted, requests read
    server = multiprocessing.get_context("fork").Process(
        target=_serve, args=(listener, counts), daemon=True
    )
    server.start()
    listener.close()
    try:
        return _measure(options, f"http://127.0.0.1:{port}", port, counts)
    finally:
        server.terminate()
        server.join()


def _measure(options: argparse.Namespace, url: str, port: int, counts: Any) -> dict[str, Any]:
    calls: list[CallLog] = []
    client = PrivateNumberClient(
        url, APP_KEY, SECRET, timeout=(3, 10), on_call=calls.append, session=pooled_session(url)
    )
    body = json.dumps({"callerNum": A, "calleeNum": B}).encode()
    headers = {
        "Content-Type": "application/json;charset=UTF-8",
        "Accept": "application/json",
        **auth.build_headers(APP_KEY, SECRET, auth.Scheme.AKSK),
    }
    session = new_session()
    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
    timeout = urllib3.Timeout(connect=3, read=10)

    def console() -> str:
        return client.axb_bind(caller_num=A, callee_num=B).subscription_id

    def session_request() -> str:
        response = session.request(
            "POST",
            url + BIND_PATH,
            data=body,
            headers=headers,
            timeout=(3, 10),
            allow_redirects=False,
        )
        return json.loads(response.content)["subscriptionId"]

    def anchor() -> str:
        response = pool.urlopen("POST", BIND_PATH, body=body, headers=headers, timeout=timeout)
        return json.loads(response.data)["subscriptionId"]

    ways = {"console": console, "session.request": session_request, "anchor": anchor}
    answers: dict[str, set[str]] = {name: set() for name in ways}
    for name, way in ways.items():  # warm up: connect, import lazily, fill caches
        for _ in range(50):
            answers[name].add(way())
    requests_before = counts[1]
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    order = list(ways)
    for index in range(options.rounds):
        for name in order[index % 3 :] + order[: index % 3]:
            way = ways[name]
            started = time.thread_time()
            for _ in range(options.calls):
                answers[name].add(way())
            cpu[name].append((time.thread_time() - started) / options.calls * 1e6)
    measured = options.rounds * options.calls * len(ways)
    correct = (
        all(found == {"bench-sub-1"} for found in answers.values())
        and counts[1] - requests_before == measured
        and counts[0] == len(ways)  # one kept-alive connection per way, none opened again
        and len(calls) == (options.rounds * options.calls + 50)
    )
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    return {
        "command": "python -m bench platform_call "
        + f"--rounds {options.rounds} --calls {options.calls}",
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "requests_version": requests.__version__,
        "urllib3_version": urllib3.__version__,
        "correct": correct,
        "connections_opened": counts[0],
        "requests_read": counts[1],
        "cpu_us_per_call": {
            name: {
                "median": round(medians[name], 1),
                "min": round(min(values), 1),
                "max": round(max(values), 1),
            }
            for name, values in cpu.items()
        },
        "console_to_anchor": round(medians["console"] / medians["anchor"], 2),
        "session_request_to_anchor": round(medians["session.request"] / medians["anchor"], 2),
    }
