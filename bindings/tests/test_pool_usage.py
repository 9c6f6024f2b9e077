"""The pool usage page: numbers by state and bindings against capacity, per application and city."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bindings import modes, pool
from bindings.choices import NumberState
from bindings.tests.factories import XNumberFactory
from console.models import Application
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

USAGE = reverse("bindings:usage")
PAIRS = modes.AXB.platform.capacity.pairs_per_x


def a_pool() -> tuple[Application, Application]:
    """AXB in Shenzhen (3 numbers) and Beijing (1), AX in Shenzhen (2)."""
    rides = ApplicationFactory(name="Rides", mode="AXB")
    couriers = ApplicationFactory(name="Couriers", mode="AX")
    XNumberFactory(application=rides, city_code="0755", state=NumberState.IN_USE, binding_count=7)
    XNumberFactory(application=rides, city_code="0755", state=NumberState.IN_USE, binding_count=2)
    XNumberFactory(application=rides, city_code="0755", state=NumberState.RETIRED)
    XNumberFactory(application=rides, city_code="010", state=NumberState.COOLING)
    XNumberFactory(
        application=couriers, city_code="0755", state=NumberState.IN_USE, binding_count=1
    )
    XNumberFactory(application=couriers, city_code="0755")
    return rides, couriers


def test_usage_counts_each_state_and_bindings_against_capacity_per_application_and_city():
    # given
    a_pool()
    # when
    with CaptureQueriesContext(connection) as queries:
        rows = pool.usage()
    # then: one query, whatever the number of rows
    assert len(queries) == 1
    figures = {
        (r["application"], r["city_code"]): (
            r["total"],
            r["available"],
            r["in_use"],
            r["cooling"],
            r["retired"],
            r["bindings"],
            r["capacity"],
        )
        for r in rows
    }
    assert figures == {
        ("Couriers", "0755"): (2, 1, 1, 0, 0, 1, 2),  # AX: one A per X
        ("Rides", "010"): (1, 0, 0, 1, 0, 0, PAIRS),
        ("Rides", "0755"): (3, 0, 2, 0, 1, 9, 2 * PAIRS),  # retired: no capacity
    }
    assert [r["application"] for r in rows] == ["Couriers", "Rides", "Rides"]
    assert next(r for r in rows if r["application"] == "Couriers")["percent"] == 50.0


def test_an_axe_number_carries_as_many_bindings_as_it_has_extensions(settings):
    settings.BINDINGS_AXE_MAX_PER_X = 200
    application = ApplicationFactory(mode="AXE", extension_length=2)
    XNumberFactory.create_batch(2, application=application, city_code="0571")
    [row] = pool.usage()
    assert row["capacity"] == 2 * 99


def test_administrators_see_the_page_with_each_city_on_its_row(client, make_user):
    # given
    rides, _ = a_pool()
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    # when
    response = client.get(USAGE)
    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-application="{rides.pk}" data-city="0755"' in page
    row = page.split(f'data-application="{rides.pk}" data-city="0755"')[1].split("</tr>")[0]
    assert '<td data-field="bindings">9</td>' in row
    assert '<td data-field="retired">1</td>' in row
    assert "深圳" in row, "the city is named in the reader's language"
    english = client.get(USAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Shenzhen" in english.split(f'data-application="{rides.pk}" data-city="0755"')[1]
    # and the city links to the city's numbers, which the list filters by
    assert f"?application={rides.pk}&amp;q=0755" in row
    numbers = client.get(reverse("bindings:numbers"), {"application": rides.pk, "q": "0755"})
    assert numbers.status_code == 200
    assert len(list(numbers.context["table"].paginated_rows)) == 3
    assert "深圳" in numbers.content.decode(), "the list names the city in the reader's language"
    # and the number list links to it
    changelist = client.get(reverse("bindings:numbers")).content.decode()
    assert USAGE in changelist


def test_the_home_page_links_administrators_to_it(client, make_user):
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    assert USAGE in client.get(reverse("home")).content.decode()


def test_customer_service_is_refused_and_not_linked(client, make_user):
    a_pool()
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.get(USAGE).status_code == 403
    assert USAGE not in client.get(reverse("home")).content.decode()
