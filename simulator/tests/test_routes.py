"""In-process tests: the server's routes come from the mode table, and every mode has its rules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from privatenumber import modes, unconfirmed
from simulator import platform as simulated_platform
from simulator.app import Simulator
from simulator.platform import Platform
from simulator.server import build_routes
from simulator.store import Store

# The interface names of the fault table and the metrics, as simulator/README.md lists them.
LABELS = [
    "axb.bind",
    "axb.modify",
    "axb.query",
    "axb.unbind",
    "ax.bind",
    "ax.modify",
    "ax.query",
    "ax.unbind",
    "ax.callee",
    "axe.bind",
    "axe.modify",
    "axe.query",
    "axe.query2",
    "axe.count",
    "axe.unbind",
    "axyb.bind",
    "axyb.query",
    "axyb.unbind",
    "call.stop",
    "record.url",
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator([], state=None)
    yield simulator
    simulator.store.close()


def test_every_interface_of_the_table_is_routed_to_the_modes_that_have_it(sim) -> None:
    routes = build_routes(sim.interfaces())
    for mode in modes.MODES.values():
        for interface in mode.interfaces:
            route = routes[(interface.method, interface.uri)]
            assert route.name == interface.label
            assert mode.name in route.modes
            assert interface.parameters <= route.fields
            assert route.app_key_param is interface.app_key_in_query
    assert sorted(route.name for route in routes.values()) == sorted(LABELS)
    # a place only one mode has refuses the others (1010040); the recordings serve every mode
    assert routes[("POST", modes.AXB_URI)].modes == {"AXB"}
    assert routes[("POST", modes.STOP_CALL_URI)].modes == set(unconfirmed.STOP_CALL_MODES)
    assert routes[("GET", modes.RECORDING_URI)].modes == set(modes.MODES)


def test_both_axyb_bind_steps_are_one_route_taking_the_fields_of_both(sim) -> None:
    route = build_routes(sim.interfaces())[("POST", modes.AXYB_URI)]
    assert route.fields == modes.AXYB_BIND.parameters | modes.AXYB_BIND_YB.parameters
    assert "subscriptionId" in route.fields
    assert "numA" not in route.fields


def test_an_interface_without_a_handler_keeps_the_server_from_starting(sim) -> None:
    handlers = sim.interfaces()
    del handlers[modes.AXE_BINDING_COUNT]
    with pytest.raises(LookupError, match="no handler for axe_binding_count"):
        build_routes(handlers)


def test_every_mode_of_the_table_has_its_rules() -> None:
    platform = Platform(Store(None))
    for name, mode in modes.MODES.items():
        assert platform.rules(name).mode is mode


def test_a_mode_without_rules_keeps_the_platform_from_starting(monkeypatch) -> None:
    rules = dict(simulated_platform.RULES)
    del rules["AXE"]
    monkeypatch.setattr(simulated_platform, "RULES", rules)
    with pytest.raises(LookupError, match=r"no simulator rules for the modes \['AXE'\]"):
        Platform(Store(None))


def test_the_simulator_reads_the_mode_table_without_loading_pydantic() -> None:
    # The table names its models and the simulator never asks for one: it starts faster and
    # smaller without pydantic.
    code = "import sys, simulator.app; print('pydantic' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert loaded.strip() == "False"
