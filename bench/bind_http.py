"""The HTTP part of one bind: a client per bind on a new session, or on the process's pooled one.

``python -m bench bind_http [--binds 2000]``

Starts the platform simulator (a subprocess on 127.0.0.1), then sends ``--binds`` signed AXB
binds (areaCode selection) from one thread, alternating rounds of the two ways a worker can reach
the platform, so both see the same machine:

* **new session**: a ``PrivateNumberClient`` of its own per bind (a new ``requests.Session`` and
  TCP connection each time), as ``console.gateway.client_for`` made them before issue 19;
* **pooled**: a client per bind on ``pooled_session(base_url)``, the process's kept-alive session,
  as ``client_for`` makes them now.

Each round binds, then unbinds what it bound (untimed), so the simulator's X numbers never run
out. Reported per bind: this thread's CPU (``time.thread_time``: signing, requests, urllib3,
the answer's validation), the simulator's CPU (the anchor: the platform's own cost of a bind),
the TCP connections opened (urllib3's count), and wall time. Every bind must answer a
subscriptionId.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from typing import Any

from bench import _cost

APP_KEY = "benchHttpKey0000000000000000001"
APP_SECRET = "benchHttpSecret000000000000001"  # noqa: S105 - the simulator's throw-away app


def _opened(session, base_url: str) -> int:
    """TCP connections the session's pool for ``base_url`` has opened so far (urllib3 counts)."""
    pools = session.get_adapter(base_url).poolmanager.pools
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118 - not a dict


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench bind_http")
    parser.add_argument("--binds", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args(args)

    # A log line per call would be most of what is measured here.
    logging.getLogger("privatenumber.client").setLevel(logging.WARNING)
    from privatenumber.client import PrivateNumberClient, pooled_session
    from simulator.testing import run_simulator

    numbers = [{"number": f"+86170{i:08d}", "city": "0755"} for i in range(500)]
    config = {
        "apps": [{"app_key": APP_KEY, "app_secret": APP_SECRET, "mode": "AXB", "numbers": numbers}]
    }
    per_round = options.binds // options.rounds // 2
    results: dict[str, dict[str, Any]] = {
        way: {"cpu": 0.0, "simulator": 0.0, "wall": [], "binds": 0, "connections": 0}
        for way in ("new session", "pooled")
    }
    with run_simulator(config) as sim:
        base = sim.base_url
        simulator_pid = sim.process.pid

        def client(way: str) -> PrivateNumberClient:
            session = pooled_session(base) if way == "pooled" else None
            return PrivateNumberClient(base, APP_KEY, APP_SECRET, session=session)

        def bind_round(way: str, index: int) -> tuple[list[str], int]:
            """Bind ``per_round`` times; the subscription ids and the connections opened."""
            ids, opened = [], 0
            pooled_before = _opened(pooled_session(base), base)
            for i in range(per_round):
                with client(way) as one:
                    answer = one.axb_bind(
                        caller_num=f"+86138{index:04d}{i:04d}",
                        callee_num=f"+86139{index:04d}{i:04d}",
                        area_code="0755",
                    )
                    if way != "pooled":
                        opened += _opened(one.session, base)
                assert answer.subscription_id, answer
                ids.append(answer.subscription_id)
            if way == "pooled":
                opened = _opened(pooled_session(base), base) - pooled_before
            return ids, opened

        def unbind(ids: list[str]) -> None:
            with PrivateNumberClient(base, APP_KEY, APP_SECRET) as one:
                for subscription in ids:
                    one.axb_unbind(subscription_id=subscription)

        for way in results:  # warm up both ways
            unbind(bind_round(way, 9000 + len(way))[0])
        for index in range(options.rounds):
            for way, result in results.items():
                sim_before = _cost.process_seconds(simulator_pid)
                began, cpu_began = time.perf_counter(), time.thread_time()
                ids, opened = bind_round(way, index * 2 + (way == "pooled"))
                result["cpu"] += time.thread_time() - cpu_began
                result["wall"].append((time.perf_counter() - began) / per_round)
                result["simulator"] += _cost.process_seconds(simulator_pid) - sim_before
                result["connections"] += opened
                result["binds"] += len(ids)
                unbind(ids)

    report = {}
    for way, result in results.items():
        binds = result["binds"]
        report[way] = {
            "binds": binds,
            "client_cpu_ms_per_bind": round(result["cpu"] * 1000 / binds, 3),
            "simulator_cpu_ms_per_bind": round(result["simulator"] * 1000 / binds, 3),
            "wall_ms_per_bind_median_round": round(statistics.median(result["wall"]) * 1000, 3),
            "tcp_connections_opened": result["connections"],
        }
    new, pooled = report["new session"], report["pooled"]
    return {
        "command": "python -m bench bind_http " + " ".join(args),
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rounds": options.rounds,
        **report,
        "client_cpu_saved_ms_per_bind": round(
            new["client_cpu_ms_per_bind"] - pooled["client_cpu_ms_per_bind"], 3
        ),
        "client_cpu_ratio_pooled_to_new": round(
            pooled["client_cpu_ms_per_bind"] / new["client_cpu_ms_per_bind"], 2
        ),
    }
