"""The console's mode table agrees with the platform's, the model, the forms and the wire."""

from __future__ import annotations

import pytest

from bindings import modes, pool
from bindings.forms import form_for_mode
from bindings.models import Binding
from bindings.tests.factories import ApplicationFactory, BindingFactory
from bindings.wire import RequestRefused
from privatenumber import modes as platform_modes


def test_every_platform_mode_with_a_bind_has_an_entry_and_no_other_does():
    with_bind = [name for name, mode in platform_modes.MODES.items() if mode.has("bind")]
    assert list(modes.MODES) == with_bind == ["AXB", "AX", "AXE", "AXYB"]
    assert not modes.has_bindings("X")
    with pytest.raises(KeyError, match="has no bindings"):
        modes.of("X")


@pytest.mark.parametrize("mode", modes.MODES.values(), ids=modes.NAMES)
def test_the_fields_of_a_mode_are_fields_of_a_binding(mode):
    model_fields = {field.name for field in Binding._meta.get_fields()}
    assert set(mode.binding_fields) <= model_fields
    assert set(mode.modifiable) <= set(mode.binding_fields)
    assert set(mode.local_fields) <= set(mode.binding_fields)
    assert mode.fields[0] == "a_number"
    assert mode.needs_b == ("b_number" in mode.fields)
    assert set(mode.labels) | set(mode.help_texts) <= set(mode.fields)


@pytest.mark.parametrize("mode", modes.MODES.values(), ids=modes.NAMES)
def test_the_create_form_of_a_mode_is_built_from_its_entry(mode):
    form = form_for_mode(mode.name)()
    assert list(form.fields) == list(mode.fields)
    for name, label in mode.labels.items():
        assert form.fields[name].label == label
    for name, text in mode.help_texts.items():
        assert form.fields[name].help_text == text
    if "call_direction" in form.fields:
        assert list(form.fields["call_direction"].choices) == list(mode.call_directions)
    assert form_for_mode(mode.name) is form_for_mode(mode.name)  # built once


def test_who_ends_a_binding_whose_time_is_up_follows_the_platforms_lifetimes():
    assert modes.PLATFORM_EXPIRES == ("AXB", "AXE", "AXYB")
    assert modes.CONSOLE_EXPIRES == ("AX",)
    assert modes.AX.local_fields == ("order_ref", "cost_tag", "duration")
    assert modes.AXB.local_fields == ("order_ref", "cost_tag")
    assert modes.STOPS_CALLS == ("AXYB",)
    assert modes.PLATFORM_COUNTS == ("AXE",)


@pytest.mark.django_db
def test_what_one_x_carries_in_each_mode(settings):
    settings.BINDINGS_AXE_MAX_PER_X = 200
    assert modes.AXB.per_x_capacity(None) == 5000
    assert modes.AX.per_x_capacity(None) == modes.AXYB.per_x_capacity(None) == 1
    assert modes.AXE.per_x_capacity(2) == 99
    assert modes.AXE.per_x_capacity(4) == 200
    assert modes.per_x_capacity("X", None) == 1
    axe = ApplicationFactory(mode="AXE", extension_length=2)
    assert pool.role_for("AXE", axe).capacity_sql == "n.binding_count < 99"
    assert pool.role_for("AX", axe).capacity_sql.startswith("n.binding_count = 0")
    assert pool.role_for("AXYB", axe, as_y=True).count_field == "y_binding_count"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", modes.MODES.values(), ids=modes.NAMES)
def test_each_wire_builds_the_requests_of_its_platform_interfaces(mode):
    binding = BindingFactory(
        application=ApplicationFactory(mode=mode.name, extension_length=4),
        b_number="+8613900000002" if mode.needs_b else "",
        extension="0042" if mode.extensions else "",
        y_number="+8617000000009" if mode.has_y else "",
        duration=3600,
    )
    request = mode.wire.bind_request(binding)
    assert isinstance(request, mode.interface("bind").request)
    if mode.two_steps:
        assert isinstance(mode.wire.second_request(binding), mode.interface("bind_yb").request)
    if mode.platform.has("modify"):
        change = mode.wire.modify_request(binding, {"user_data"})
        assert isinstance(change, mode.interface("modify").request)
        assert set(mode.modifiable)
    else:
        assert mode.modifiable == ()
        with pytest.raises(RequestRefused):
            mode.wire.modify_request(binding, {"user_data"})
