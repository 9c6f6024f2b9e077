"""Injected faults on the platform interfaces, and the control API's answers to bad input."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from simulator.testing import SimulatorError
from simulator.tests.conftest import AXB_URI

pytestmark = pytest.mark.simulator

BODY = {"callerNum": "+8613800000001", "calleeNum": "+8613800000002"}


def test_an_error_rate_answers_the_chosen_code(sim: Any, api: Any) -> None:
    sim.control.set_faults("axb.bind", error_rate=1.0, error_code="1010010")
    api("AXB").fails("POST", AXB_URI, BODY, code="1010010")
    sim.control.set_faults("axb.bind", error_rate=1.0, error_code="1010001", times=1)
    api("AXB").fails("POST", AXB_URI, BODY, code="1010001", status=500)
    api("AXB").ok("POST", AXB_URI, BODY)


def test_http_5xx_latency_and_dropped_connections(sim: Any, api: Any) -> None:
    sim.control.set_faults("*", http5xx_rate=1.0, http_status=503, times=1)
    assert api("AXB")("POST", AXB_URI, BODY).status_code == 503
    sim.control.set_faults("axb.bind", drop_rate=1.0, times=1)
    with pytest.raises(requests.ConnectionError):
        api("AXB")("POST", AXB_URI, BODY)
    sim.control.set_faults("axb.bind", latency_ms=300)
    started = time.monotonic()
    api("AXB").ok("POST", AXB_URI, BODY)
    assert time.monotonic() - started >= 0.3
    sim.control.clear_faults()
    assert sim.control.request("GET", "faults") == {"faults": {}}


def test_the_control_api_rejects_bad_input_clearly(sim: Any) -> None:
    with pytest.raises(SimulatorError, match="unknown fault keys"):
        sim.control.set_faults("axb.bind", eror_rate=1.0)
    with pytest.raises(SimulatorError, match="mode must be one of"):
        sim.control.add_app({"app_key": "k", "app_secret": "s", "mode": "ABC"})
    with pytest.raises(SimulatorError, match="outcome must be one of"):
        sim.control.place_call("+8613800000001", "+8617000000001", "exploded")
    with pytest.raises(SimulatorError, match="404"):
        sim.control.place_call("+8613800000001", "+8619999999999")
