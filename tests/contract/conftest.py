"""Contract tests: the real client against the simulator, over HTTP on 127.0.0.1.

One simulator process serves the whole session (starting it takes a moment); every test starts
from an empty platform (``reset``: no bindings, no faults, the configured apps and numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from privatenumber.client import CallLog, PrivateNumberClient
from simulator.testing import SimulatorHandle, run_simulator


def _numbers(prefix: str, count: int, city: str) -> list[dict[str, str]]:
    return [{"number": f"{prefix}{index:04d}", "city": city} for index in range(1, count + 1)]


def _app(mode: str, numbers: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    key = f"contract{mode}Key".ljust(32, "0")
    return {
        "app_key": key,
        "app_secret": f"contract{mode}Secret".ljust(32, "0"),
        "mode": mode,
        "record": True,
        **extra,
        "numbers": numbers,
    }


# X numbers of each app. AXB: two in Shenzhen (0755), one in Guangzhou (020, same province), one
# in Beijing (010); nothing in Zhuhai (0756) or Hangzhou (0571), for strict and loose matching.
AXB_X = ["+8617000010001", "+8617000010002", "+8617000010003", "+8617000010004"]
AX_X = [number["number"] for number in _numbers("+861710002", 7, "0755")]
AXE_X = ["+8616700030001", "+8616700030002"]
AXE_SMALL_X = "+8616700040001"
AXYB_X = [number["number"] for number in _numbers("+861650005", 8, "028")]

APPS: dict[str, dict[str, Any]] = {
    "AXB": _app(
        "AXB",
        [
            {"number": AXB_X[0], "city": "0755"},
            {"number": AXB_X[1], "city": "0755"},
            {"number": AXB_X[2], "city": "020"},
            {"number": AXB_X[3], "city": "010"},
        ],
    ),
    "AX": _app("AX", [{"number": number, "city": "0755"} for number in AX_X]),
    "AXE": _app(
        "AXE", [{"number": number, "city": "0571"} for number in AXE_X], extension_length=4
    ),
    # A one-digit AXE app: 9 extensions per X, so its capacity can be filled in a test.
    "AXE1": _app("AXE", [{"number": AXE_SMALL_X, "city": "0574"}], extension_length=1)
    | {"app_key": "contractAXE1Key".ljust(32, "0"), "app_secret": "contractAXE1Sec".ljust(32, "0")},
    "AXYB": _app("AXYB", [{"number": number, "city": "028"} for number in AXYB_X]),
}


@pytest.fixture(scope="session")
def simulator_process() -> Iterator[SimulatorHandle]:
    with run_simulator({"apps": list(APPS.values())}) as handle:
        yield handle


@pytest.fixture
def simulator(simulator_process: SimulatorHandle) -> SimulatorHandle:
    """The running simulator, emptied of bindings, calls, recordings and faults."""
    simulator_process.control.reset()
    return simulator_process


@pytest.fixture
def calls() -> list[CallLog]:
    return []


@pytest.fixture
def client_for(
    simulator: SimulatorHandle, calls: list[CallLog]
) -> Iterator[Callable[..., PrivateNumberClient]]:
    """``client_for("AXB")``: a client of that app, reporting its calls to ``calls``."""
    made: list[PrivateNumberClient] = []

    def _client(mode: str, **options: Any) -> PrivateNumberClient:
        app = APPS[mode]
        options.setdefault("on_call", calls.append)
        client = PrivateNumberClient(
            options.pop("base_url", simulator.base_url),
            options.pop("app_key", app["app_key"]),
            options.pop("app_secret", app["app_secret"]),
            **options,
        )
        made.append(client)
        return client

    yield _client
    for client in made:
        client.close()
