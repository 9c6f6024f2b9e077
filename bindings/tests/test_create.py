"""Creating a binding: numbers normalised, X chosen from the pool, every capacity rule checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone, translation

from bindings import pool as choosing
from bindings import services
from bindings.choices import BindingStatus, NumberState
from bindings.models import Binding, XNumber
from bindings.tests.factories import BindingFactory, XNumberFactory
from console.models import AuditLog
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True, params=["sql", "orm"])
def choice_path(request, monkeypatch):
    """Every rule is checked on both ways of choosing: PostgreSQL's precompiled statements and
    the ORM path the SQLite demo uses (run here on PostgreSQL, with its row locks)."""
    if request.param == "orm":
        monkeypatch.setattr(choosing, "_take_postgresql", choosing._take_orm)
    return request.param


A = "+8613800000001"
B = "+8613900000002"


def pool(application, count: int, city: str = "0755", **fields) -> list[XNumber]:
    return XNumberFactory.create_batch(count, application=application, city_code=city, **fields)


def create(application, **data) -> Binding:
    data.setdefault("a_number", A)
    if application.mode in ("AXB", "AXYB"):
        data.setdefault("b_number", B)
    return services.create_binding(application, data)


def refusal(application, **data) -> services.BindingRefused:
    with pytest.raises(services.BindingRefused) as caught:
        create(application, **data)
    return caught.value


# --- numbers ---------------------------------------------------------------------------------


def test_it_stores_the_numbers_in_e164_whatever_form_they_were_typed_in():
    # given
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1)
    # when
    binding = create(axb, a_number="138 0000 0001", b_number="0755-2800 0001", area_code="0755")
    # then
    binding.refresh_from_db()
    assert (binding.a_number, binding.b_number) == ("+8613800000001", "+8675528000001")
    assert binding.status == BindingStatus.PENDING


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("12345", "not a valid mainland"),
        ("+1 202 555 0100", "not a mainland China number"),
        ("400 810 8888", "service number"),
        ("hello", "not a phone number"),
    ],
)
def test_it_refuses_a_number_that_is_not_a_valid_mainland_number_and_says_so(typed, says):
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1)
    with translation.override("en"):
        refused = refusal(axb, a_number=typed)
    assert refused.field == "a_number"
    assert says in refused.message
    assert not Binding.objects.exists()


def test_it_refuses_the_same_number_as_a_and_b():
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1)
    refused = refusal(axb, a_number="13800000001", b_number="+86 138 0000 0001")
    assert refused.rule == "same_number"


def test_it_refuses_a_field_the_platform_would_refuse_before_calling_it():
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1)
    refused = refusal(axb, user_data="{order: 1}")
    assert refused.rule == "request"
    assert refused.field == "user_data"
    assert XNumber.objects.get().binding_count == 0


def test_x_mode_and_inactive_applications_take_no_bindings():
    assert refusal(ApplicationFactory(mode="X")).rule == "mode_x"
    inactive = ApplicationFactory(mode="AXB", is_active=False)
    pool(inactive, 1)
    assert refusal(inactive).rule == "application_inactive"


# --- choosing X ------------------------------------------------------------------------------


def test_it_chooses_the_least_loaded_x_of_the_city_and_counts_the_binding():
    # given
    axb = ApplicationFactory(mode="AXB")
    busy, idle = pool(axb, 2)
    XNumber.objects.filter(pk=busy.pk).update(binding_count=7, state=NumberState.IN_USE)
    pool(axb, 1, city="010")  # idle, but in another city
    # when
    binding = create(axb, area_code="0755")
    # then
    assert binding.x == idle
    assert binding.x_number == idle.number
    idle.refresh_from_db()
    assert (idle.binding_count, idle.state) == (1, NumberState.IN_USE)


@pytest.mark.parametrize(
    "unusable",
    [
        {"platform_status": "9"},
        {"platform_status": "10", "platform_cause": "2"},
        {"platform_status": "11"},
        {"state": NumberState.RETIRED},
        {"state": NumberState.COOLING, "cooling_until_in": 600},
    ],
    ids=["paused", "unavailable", "frozen", "retired", "cooling"],
)
def test_it_never_chooses_a_paused_unavailable_frozen_retired_or_cooling_number(unusable):
    # given
    axb = ApplicationFactory(mode="AXB")
    seconds = unusable.pop("cooling_until_in", None)
    if seconds:
        unusable["cooling_until"] = timezone.now() + timedelta(seconds=seconds)
    (_blocked,) = pool(axb, 1, **unusable)
    # when
    refused = refusal(axb, area_code="0755")
    # then
    assert refused.rule == "pool_exhausted"
    assert "0755" in refused.message
    (usable,) = pool(axb, 1)
    assert create(axb, area_code="0755").x == usable


def test_a_number_is_chosen_again_once_its_cooldown_is_over():
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1, state=NumberState.COOLING, cooling_until=timezone.now() - timedelta(seconds=1))
    assert create(axb).x is not None


def test_strict_matching_refuses_when_the_city_has_no_usable_x_and_names_the_city():
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 2, city="020")
    refused = refusal(axb, area_code="0755", area_match_mode="0")
    assert refused.rule == "pool_exhausted"
    assert refused.field == "area_code"
    assert "0755" in refused.message


def test_loose_matching_takes_the_city_then_the_same_province_then_any():
    # given: no X in Shenzhen (0755); one in Guangzhou (020, Guangdong), one in Beijing
    axb = ApplicationFactory(mode="AXB")
    (beijing,) = pool(axb, 1, city="010")
    (guangzhou,) = pool(axb, 1, city="020")
    # when / then: the province first, even though Beijing's X is as idle
    first = create(axb, area_code="0755", area_match_mode="1", b_number="+8613900000011")
    assert first.x == guangzhou
    # when Guangdong is full for this A and B (AXB: a user number once per X): any X at all
    second = create(axb, area_code="0755", area_match_mode="1", b_number="+8613900000012")
    assert second.x == beijing


def test_without_a_city_it_takes_any_usable_x():
    axb = ApplicationFactory(mode="AXB")
    (only,) = pool(axb, 1, city="0571")
    assert create(axb, area_code="").x == only


# --- AXB rules -------------------------------------------------------------------------------


def test_axb_puts_a_user_number_on_an_x_at_most_once():
    # given
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 2)
    # when: the same A with two B, and the first B with a third party
    first = create(axb, b_number="+8613900000011")
    second = create(axb, b_number="+8613900000012")
    third = create(axb, a_number="+8613900000011", b_number="+8613700000003")
    # then
    assert first.x != second.x
    assert third.x == second.x  # the first B is already on the first X


def test_axb_refuses_when_every_usable_x_already_carries_a_or_b_and_names_that_rule():
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 2)
    create(axb, b_number="+8613900000011")
    create(axb, b_number="+8613900000012")
    refused = refusal(axb, b_number="+8613900000013")
    assert refused.rule == "axb_number_once_per_x"
    assert "once per X" in refused.message


def test_axb_x_holds_at_most_5000_pairs():
    axb = ApplicationFactory(mode="AXB")
    (full,) = pool(axb, 1)
    XNumber.objects.filter(pk=full.pk).update(binding_count=5000)
    refused = refusal(axb)
    assert refused.rule == "pool_exhausted"
    assert "5000" in refused.message


def test_an_ended_binding_no_longer_blocks_its_numbers_on_its_x():
    axb = ApplicationFactory(mode="AXB")
    (x,) = pool(axb, 1)
    BindingFactory(application=axb, x=x, a_number=A, b_number=B, status=BindingStatus.ENDED)
    assert create(axb).x == x


# --- AX rules --------------------------------------------------------------------------------


def test_ax_gives_an_x_to_one_a_at_a_time():
    ax = ApplicationFactory(mode="AX")
    taken, free = pool(ax, 2)
    XNumber.objects.filter(pk=taken.pk).update(binding_count=1)
    assert create(ax, a_number="+8613800000002").x == free
    assert refusal(ax, a_number="+8613800000003").rule == "pool_exhausted"


def test_ax_refuses_a_sixth_x_for_one_a_and_says_which_rule():
    # given
    ax = ApplicationFactory(mode="AX")
    pool(ax, 7)
    for _ in range(5):
        create(ax)
    # when
    refused = refusal(ax)
    # then
    assert refused.rule == "a_holds_5"
    assert refused.field == "a_number"
    assert "5" in refused.message
    assert "+86138****0001" in refused.message  # masked, never the full number
    assert XNumber.objects.filter(binding_count=1).count() == 5


# --- AXE rules -------------------------------------------------------------------------------


def test_axe_gives_a_one_extension_per_x_and_never_the_same_extension_twice():
    axe = ApplicationFactory(mode="AXE", extension_length=1)
    x1, _x2 = pool(axe, 2, city="0571")
    bindings = [create(axe, a_number=f"+861380000000{i}") for i in range(1, 9)]
    on_x1 = [b.extension for b in bindings if b.x == x1]
    assert len(on_x1) == len(set(on_x1))
    assert all(len(e) == 1 and e != "0" for e in on_x1)
    # A already holds an extension on both X
    create(axe, a_number="+8613900000001")
    create(axe, a_number="+8613900000001")
    assert refusal(axe, a_number="+8613900000001").rule == "axe_a_once_per_x"


def test_axe_x_holds_at_most_the_configured_number_of_a(settings):
    settings.BINDINGS_AXE_MAX_PER_X = 2
    axe = ApplicationFactory(mode="AXE")
    pool(axe, 1, city="0571")
    create(axe, a_number="+8613800000001")
    create(axe, a_number="+8613800000002")
    refused = refusal(axe, a_number="+8613800000003")
    assert refused.rule == "pool_exhausted"
    assert "2" in refused.message


# --- AXYB rules ------------------------------------------------------------------------------


def test_axyb_takes_an_idle_x_and_a_different_y_and_counts_both():
    axyb = ApplicationFactory(mode="AXYB")
    pool(axyb, 3, city="028")
    binding = create(axyb)
    assert binding.x != binding.y
    x, y = XNumber.objects.get(pk=binding.x_id), XNumber.objects.get(pk=binding.y_id)
    assert (x.binding_count, x.y_binding_count) == (1, 0)
    assert (y.binding_count, y.y_binding_count) == (0, 1)
    # the Y is shared by the next binding (up to 1000 relations); the X is not
    second = create(axyb, a_number="+8613800000002", b_number="+8613900000003")
    assert second.y == binding.y
    assert second.x not in (binding.x, binding.y)


def test_axyb_never_takes_a_number_in_use_as_y_for_an_x():
    axyb = ApplicationFactory(mode="AXYB")
    pool(axyb, 2, city="028")
    create(axyb)
    assert refusal(axyb, a_number="+8613800000002", b_number="+8613900000003").rule == (
        "pool_exhausted"
    )


def test_axyb_y_carries_at_most_1000_relations():
    axyb = ApplicationFactory(mode="AXYB")
    x, y = pool(axyb, 2, city="028")
    XNumber.objects.filter(pk=y.pk).update(y_binding_count=1000)
    refused = refusal(axyb)
    assert refused.rule == "pool_exhausted_y"
    assert "1000" in refused.message
    assert XNumber.objects.get(pk=x.pk).binding_count == 0  # nothing half-taken


def test_axyb_refuses_a_sixth_x_for_one_a():
    axyb = ApplicationFactory(mode="AXYB")
    pool(axyb, 8, city="028")
    for i in range(5):
        create(axyb, b_number=f"+861390000001{i}")
    assert refusal(axyb, b_number="+8613900000019").rule == "a_holds_5"


# --- side effects ----------------------------------------------------------------------------


def test_create_is_audited_with_who_and_from_which_address(make_user):
    # given
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1)
    user = make_user("kefu01")
    request = RequestFactory().post("/", REMOTE_ADDR="10.1.2.3")
    request.user = user
    # when
    binding = services.create_binding(
        axb, {"a_number": A, "b_number": B}, user=user, request=request
    )
    # then
    row = AuditLog.objects.get()
    assert (row.action, row.username, row.ip_address) == ("create", "kefu01", "10.1.2.3")
    assert row.target_id == str(binding.pk)
    assert A not in row.target_repr
    assert A not in str(row.details)
    assert binding.created_by == user


def test_the_bind_is_queued_only_when_the_create_commits(django_capture_on_commit_callbacks):
    axb = ApplicationFactory(mode="AXB")
    pool(axb, 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create(axb)
    assert len(callbacks) == 1
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(services.BindingRefused),
    ):
        create(axb, b_number="+8613900000099")  # A is on the only X already
    assert callbacks == []
