"""How many binds per second the simulator takes: ``python -m simulator.loadtest``.

Starts a simulator (in-memory or on a state file) on loopback, then ``--clients`` threads, each with
its own keep-alive connection, send signed AXB binds (areaCode selection, so every bind runs the
full X-selection and capacity path) for ``--seconds``, or at a fixed total ``--rate``. Prints one
JSON line: binds/s, latency percentiles, result codes. Bounded in time and count; loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import sys
import threading
import time
from collections import Counter
from typing import Any

from privatenumber.auth import build_headers
from simulator.testing import run_simulator

logger = logging.getLogger(__name__)

AXB_URI = "/rest/caas/relationnumber/partners/v1.0"


def _config(numbers: int) -> dict[str, Any]:
    return {
        "apps": [
            {
                "app_key": "loadtestAxbKey000000000000000001",
                "app_secret": "loadtestAxbSecret00000000000001",
                "mode": "AXB",
                "numbers": [
                    {"number": f"+86170{i:08d}", "city": "0755" if i % 2 else "020"}
                    for i in range(numbers)
                ],
            }
        ]
    }


def _client(
    port: int,
    app: dict[str, Any],
    worker: int,
    clients: int,
    stop_at: float,
    interval: float,
    latencies: list[float],
    codes: Counter[str],
    lock: threading.Lock,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sequence = 0
    # Clients start spread over one interval, so a fixed rate arrives evenly, not in bursts.
    next_at = time.monotonic() + interval * worker / max(1, clients)
    mine: list[float] = []
    seen: Counter[str] = Counter()
    while time.monotonic() < stop_at:
        if interval:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sequence += 1
        body = json.dumps(
            {
                "callerNum": f"+86138{worker:03d}{sequence:05d}",
                "calleeNum": f"+86139{worker:03d}{sequence:05d}",
                "areaCode": "0755",
                "areaMatchMode": "1",
                "duration": 3600,
            }
        )
        headers = build_headers(app["app_key"], app["app_secret"])
        headers["Content-Type"] = "application/json;charset=UTF-8"
        started = time.perf_counter()
        try:
            connection.request("POST", AXB_URI, body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            seen[answer.get("resultcode", "?")] += 1
        except (OSError, http.client.HTTPException, ValueError) as exc:
            seen[type(exc).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine.append(time.perf_counter() - started)
    connection.close()
    with lock:
        latencies.extend(mine)
        codes.update(seen)


def run(clients: int, seconds: float, rate: float, numbers: int, memory: bool) -> dict[str, Any]:
    config = _config(numbers)
    app = config["apps"][0]
    with run_simulator(config, memory=memory, extra_args=["--log-level", "WARNING"]) as sim:
        latencies: list[float] = []
        codes: Counter[str] = Counter()
        lock = threading.Lock()
        interval = clients / rate if rate else 0.0
        started = time.monotonic()
        stop_at = started + seconds
        threads = [
            threading.Thread(
                target=_client,
                args=(sim.port, app, w, clients, stop_at, interval, latencies, codes, lock),
            )
            for w in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        metrics = sim.control.metrics()["interfaces"].get("axb.bind", {})
    latencies.sort()

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2)

    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "target_rate": rate or None,
        "state": "memory" if memory else "sqlite file",
        "requests": len(latencies),
        "binds_per_second": round(codes.get("0", 0) / elapsed, 1),
        "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
        "server_mean_ms": metrics.get("meanMs"),
        "codes": dict(codes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.loadtest")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.0, help="total binds/s (0 = flat out)")
    parser.add_argument("--numbers", type=int, default=200, help="X numbers in the app")
    parser.add_argument("--memory", action="store_true", help="in-memory state (default: file)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 300:
        parser.error("clients 1-256, seconds up to 300")
    logging.basicConfig(level=logging.WARNING)
    result = run(args.clients, args.seconds, args.rate, args.numbers, args.memory)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
