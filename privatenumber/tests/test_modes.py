"""Tests of privatenumber.modes: the one table of the platform's modes agrees with the spec and
with the client's models and methods."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from privatenumber import modes, unconfirmed
from privatenumber.client import PrivateNumberClient
from privatenumber.schemas import QueryParams, Request, ResultEnvelope, WireModel

SPEC = Path(__file__).parent / "fixtures" / "privatenumber-api.md"

INTERFACES = sorted(
    {interface for mode in modes.MODES.values() for interface in mode.interfaces},
    key=lambda interface: (interface.name, interface.verb),
)


def _wire_names(model: type[WireModel]) -> set[str]:
    """The names a model writes on the wire."""
    return {
        info.serialization_alias or info.alias or name for name, info in model.model_fields.items()
    }


def test_every_interface_is_where_the_spec_puts_it() -> None:
    # given the method and URI lines of the spec's section 5
    text = SPEC.read_text(encoding="utf-8")
    section = re.search(r"^## 5\. .*?(?=^## 6\. )", text, flags=re.M | re.S)
    assert section
    documented = set(re.findall(r"^`(GET|POST|PUT|DELETE) (/[^?` ]+)", section.group(0), re.M))
    # then the table has exactly those places
    assert {(i.method, i.uri) for i in INTERFACES} == documented


@pytest.mark.parametrize("interface", INTERFACES, ids=lambda i: f"{i.name}.{i.verb}")
def test_every_interface_names_its_models_in_the_schemas(interface) -> None:
    # a body for POST/PUT, URL parameters for GET/DELETE; an envelope answer but for the 301
    kind = Request if interface.has_body else QueryParams
    assert issubclass(interface.request, kind)
    if interface.response_model is None:
        assert interface.name == "recording_download_url"
    else:
        assert interface.response is not None
        assert issubclass(interface.response, ResultEnvelope)


@pytest.mark.parametrize("interface", INTERFACES, ids=lambda i: f"{i.name}.{i.verb}")
def test_the_client_sends_nothing_the_platform_table_does_not_list(interface) -> None:
    # The simulator refuses a parameter its interface does not have: whatever the client's model
    # can send must be listed at the place it goes to (both AXYB bind steps share one place).
    listed = set().union(
        *(
            other.parameters
            for other in INTERFACES
            if (other.method, other.uri) == (interface.method, interface.uri)
        )
    )
    assert _wire_names(interface.request) - listed == set()


@pytest.mark.parametrize("interface", INTERFACES, ids=lambda i: f"{i.name}.{i.verb}")
def test_every_interface_has_its_named_client_method(interface) -> None:
    assert callable(getattr(PrivateNumberClient, interface.name, None))


def test_verbs_name_one_interface_within_a_mode() -> None:
    for mode in modes.MODES.values():
        verbs = [interface.verb for interface in mode.interfaces]
        assert len(verbs) == len(set(verbs)), mode.name
        assert all(mode.interface(verb).verb == verb for verb in verbs)
    with pytest.raises(KeyError, match="AX mode has no 'query_v2' interface"):
        modes.AX.interface("query_v2")


def test_binding_modes_bind_query_and_unbind_and_x_mode_asks_the_customer() -> None:
    for mode in modes.MODES.values():
        keeps_bindings = all(mode.has(verb) for verb in ("bind", "query", "unbind"))
        assert keeps_bindings is not mode.asks_customer, mode.name
    assert [mode.name for mode in modes.MODES.values() if mode.asks_customer] == ["X"]


def test_every_mode_reaches_its_recordings_and_stop_call_follows_the_register() -> None:
    for mode in modes.MODES.values():
        assert mode.has("recording_download_url")
        assert mode.has("stop_call") is (mode.name in unconfirmed.STOP_CALL_MODES)


def test_the_capacity_rules_of_section_4() -> None:
    assert modes.AXB.capacity.pairs_per_x == 5000
    assert modes.AXB.capacity.user_once_per_x
    assert (modes.AX.capacity.a_per_x, modes.AX.capacity.x_per_a) == (1, 5)
    assert (modes.AXYB.capacity.a_per_x, modes.AXYB.capacity.x_per_a) == (1, 5)
    assert modes.AXYB.capacity.relations_per_y == 1000
    assert modes.AXE.capacity.extension_digits == (1, 4)
    assert [modes.AXE.capacity.extensions_per_x(n) for n in (1, 2, 3, 4)] == [9, 99, 999, 9999]
    assert [mode.name for mode in modes.MODES.values() if mode.extensions] == ["AXE"]


def test_who_ends_a_binding_whose_time_is_up() -> None:
    assert [m.name for m in modes.MODES.values() if m.platform_expires] == ["AXB", "AXE", "AXYB"]
    assert modes.AX.lifetime is None


def test_lifetimes_count_in_their_unit() -> None:
    axb = modes.AXB.lifetime_of("duration")
    assert axb.seconds(90) == 90
    assert axb.seconds(0) is None
    assert axb.seconds(None) is None
    axe = modes.AXE.lifetime_of("bindExpiredTime")
    assert modes.AXE.lifetime is axe
    assert axe.seconds(2, "0") == 7200  # hours
    assert axe.seconds(2, "1") == 120  # minutes
    assert axe.seconds(2) == 7200  # the UNCONFIRMED default unit: hours
    assert modes.AXE.lifetime_of("callbackExpiredTime").seconds(3, "1") == 180
    assert modes.AXYB.lifetime_of("ybDuration").shortest == 60
    with pytest.raises(KeyError):
        modes.AXB.lifetime_of("ybDuration")


def test_an_unknown_mode_is_named() -> None:
    assert modes.mode("AXE") is modes.AXE
    with pytest.raises(KeyError, match="no mode 'AXZ': one of AXB, AX, AXE, AXYB, X"):
        modes.mode("AXZ")
