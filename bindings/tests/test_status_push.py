"""X-number status pushes (spec §6.3) change which numbers the pool may choose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bindings import services
from bindings.choices import PlatformNumberStatus
from bindings.models import XNumber
from bindings.tests.factories import XNumberFactory
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import NumStatusPush, parse_push

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FIXTURE = Path(__file__).resolve().parents[2] / "privatenumber/tests/fixtures/pushes/numstatus.json"


def push(*infos: tuple[str, str] | tuple[str, str, str]) -> NumStatusPush:
    items = [
        {"number": i[0], "status": i[1], **({"cause": i[2]} if len(i) > 2 else {})} for i in infos
    ]
    return NumStatusPush.model_validate({"eventType": "numStatus", "numInfo": items})


def choosable(application) -> set[str]:
    from django.utils import timezone

    from bindings import pool

    return set(pool.usable(application, timezone.now()).values_list("number", flat=True))


def test_the_documented_push_updates_status_and_cause_of_each_number():
    # given: the four numbers of the documented example in one pool
    application = ApplicationFactory(mode="AXB")
    for n in ("+8617012340022", "+8617012340023", "+8617012340024", "+8617012340025"):
        XNumberFactory(application=application, number=n)
    body = parse_push(FIXTURE.read_bytes())
    # when
    changed = services.apply_x_number_status(application, body)
    # then
    assert changed == 4
    rows = {
        n: (s, c)
        for n, s, c in XNumber.objects.values_list("number", "platform_status", "platform_cause")
    }
    assert rows == {
        "+8617012340022": ("10", "2"),
        "+8617012340023": ("11", ""),
        "+8617012340024": ("5", "6"),
        "+8617012340025": ("9", ""),
    }
    assert choosable(application) == {"+8617012340024"}
    assert json.loads(FIXTURE.read_text())["eventType"] == "numStatus"


@pytest.mark.parametrize(
    ("status", "chosen"), [("9", False), ("10", False), ("11", False), ("5", True)]
)
def test_paused_unavailable_and_frozen_numbers_are_not_chosen_and_5_brings_them_back(
    status, chosen
):
    application = ApplicationFactory(mode="AXB")
    x = XNumberFactory(application=application, platform_status="9")
    services.apply_x_number_status(application, push((x.number, status)))
    assert (x.number in choosable(application)) is chosen


def test_applying_the_same_push_twice_changes_nothing_the_second_time():
    application = ApplicationFactory(mode="AXB")
    x = XNumberFactory(application=application)
    body = push((x.number, "10", "3"))
    assert services.apply_x_number_status(application, body) == 1
    first = XNumber.objects.get(pk=x.pk).platform_status_at
    assert services.apply_x_number_status(application, body) == 0
    assert XNumber.objects.get(pk=x.pk).platform_status_at == first


def test_a_push_touches_only_the_numbers_of_its_application():
    mine, theirs = ApplicationFactory(mode="AXB"), ApplicationFactory(mode="AXB")
    other = XNumberFactory(application=theirs)
    assert services.apply_x_number_status(mine, push((other.number, "9"))) == 0
    assert XNumber.objects.get(pk=other.pk).platform_status == PlatformNumberStatus.NORMAL


def test_unknown_numbers_are_ignored_and_logged(caplog):
    application = ApplicationFactory(mode="AXB")
    assert services.apply_x_number_status(application, push(("+8617099999999", "9"))) == 0
    assert "not in its pool" in caplog.text
    assert "+8617099999999" not in caplog.text
