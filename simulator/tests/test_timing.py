"""Time: binding expiry, the push retry schedule, and state that survives a restart.

Each test runs its own simulator with a time scale, so platform minutes pass in milliseconds.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from privatenumber.auth import build_headers
from simulator.testing import run_simulator
from simulator.tests.conftest import AX_CALLEE_URI, AX_URI, AXB_URI, AXE_URI, Api, app_config

pytestmark = pytest.mark.simulator

A = "+8613800000001"
B = "+8613800000002"
RETRY_MINUTES = (1, 4, 9, 106, 203, 300)


def _config(receiver: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "apps": [
            app_config("AXB", receiver.url, **overrides),
            app_config("AX", receiver.url),
            app_config("AXE", receiver.url),
        ]
    }


def test_bindings_expire_by_themselves_and_modify_counts_from_now(receiver: Any) -> None:
    # 60 s -> 0.2 s; margins of a few hundred ms keep this steady on a busy machine.
    with run_simulator(_config(receiver), time_scale=300) as sim:
        cfg = _config(receiver)["apps"]
        axb, ax, axe = (Api(sim.base_url, app) for app in cfg)
        short = axb.ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B, "duration": 60})
        kept = axb.ok(
            "POST", AXB_URI, {"callerNum": "+8613800000003", "calleeNum": B, "duration": 120}
        )
        forever = axb.ok(
            "POST", AXB_URI, {"callerNum": "+8613800000005", "calleeNum": "+8613800000006"}
        )
        ext = axe.ok("POST", AXE_URI, {"bindNum": A, "timeUnit": "1", "bindExpiredTime": 1})
        time.sleep(0.15)
        axb.ok("PUT", AXB_URI, {"subscriptionId": kept["subscriptionId"], "duration": 300})  # 1 s
        time.sleep(0.3)
        axb.fails("GET", AXB_URI, subscriptionId=short["subscriptionId"], code="1016001")
        axe.fails("GET", AXE_URI, subscriptionId=ext["subscriptionId"], code="1016001")
        axb.ok("GET", AXB_URI, subscriptionId=kept["subscriptionId"])
        time.sleep(1.0)
        axb.fails("GET", AXB_URI, subscriptionId=kept["subscriptionId"], code="1016001")
        axb.ok("GET", AXB_URI, subscriptionId=forever["subscriptionId"])
        # Nothing of the expired bindings is left in the store.
        assert {b["subscriptionId"] for b in sim.control.bindings(kind="AXB")} == {
            forever["subscriptionId"]
        }
        # AX temporary callee: 60 s -> 0.2 s, then A calling X fails with 8013.
        ax.ok("POST", AX_URI, {"origNum": A, "privateNum": "+8617100000001"})
        ax.ok("PUT", AX_CALLEE_URI, {"origNum": A, "privateNum": "+8617100000001", "calleeNum": B})
        assert sim.control.place_call(A, "+8617100000001")["callee"] == B
        time.sleep(0.4)
        assert sim.control.place_call(A, "+8617100000001")["stateCode"] == 8013


def test_failed_pushes_are_retried_on_the_platforms_schedule(receiver: Any) -> None:
    scale = 3000  # 1 min -> 20 ms, 300 min -> 6 s
    receiver.clear()
    receiver.fail_first["/fee"] = 100
    with run_simulator(
        _config(receiver), time_scale=scale, extra_args=["--cdr-window", "0.05"]
    ) as sim:
        app = _config(receiver)["apps"][0]
        Api(sim.base_url, app).ok("POST", AXB_URI, {"callerNum": A, "calleeNum": B})
        sim.control.place_call(A, "+8617000000001", "busy")
        received = receiver.wait("/fee", 7, timeout=15)
        [push] = sim.control.wait_pushes(1, kind="fee", state="failed", timeout=5)
        attempts = [a["at"] for a in push["attempts"]]
        assert len(attempts) == 7  # the original and six retries
        first = attempts[0]
        for minutes, at in zip(RETRY_MINUTES, attempts[1:], strict=True):
            expected = minutes * 60 / scale
            assert abs((at - first) - expected) < 0.15 + 0.03 * expected, (minutes, at - first)
        # The receiver saw the same schedule.
        seen = [r.at for r in received]
        assert abs((seen[-1] - seen[0]) - 300 * 60 / scale) < 0.3
        assert {r.body["feeLst"][0]["sessionId"] for r in received} == {
            push["body"]["feeLst"][0]["sessionId"]
        }
    receiver.clear()


def test_state_and_pending_pushes_survive_a_restart(receiver: Any) -> None:
    receiver.clear()
    receiver.fail_first["/fee"] = 1
    with run_simulator(_config(receiver), time_scale=60, memory=False) as sim:  # retry after 1 s
        app = _config(receiver)["apps"][0]
        bound = Api(sim.base_url, app).ok(
            "POST", AXB_URI, {"callerNum": A, "calleeNum": B, "duration": 3600}
        )
        sim.control.place_call(A, bound["relationNum"], "busy")
        receiver.wait("/fee", 1)
        sim.restart()
        Api(sim.base_url, app).ok("GET", AXB_URI, subscriptionId=bound["subscriptionId"])
        [push] = sim.control.wait_pushes(1, kind="fee", state="delivered", timeout=10)
        assert push["retries"] == 1
        assert [a["status"] for a in push["attempts"]] == [500, 200]
        assert len(receiver.wait("/fee", 2)) == 2
        Api(sim.base_url, app).fails(
            "POST",
            AXB_URI,
            {"callerNum": A, "calleeNum": B, "relationNum": bound["relationNum"]},
            code="1012010",
        )
    receiver.clear()


def test_a_replayed_token_is_refused_when_asked_for(receiver: Any) -> None:
    app = app_config("AXB", receiver.url)
    with run_simulator({"apps": [app]}, extra_args=["--reject-replayed-nonce"]) as sim:
        api = Api(sim.base_url, app)
        headers = build_headers(app["app_key"], app["app_secret"])
        body = {"callerNum": A, "calleeNum": B}
        assert api("POST", AXB_URI, body, headers=headers).json()["resultcode"] == "0"
        again = api("POST", AXB_URI, body, headers=headers)
        assert (again.status_code, again.json()["resultcode"]) == (400, "1010013")
