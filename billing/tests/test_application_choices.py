"""The calls list's application filter reads its choices from the shared cache
(``billing.widgets.ApplicationChoices``): a change to an application shows on the next page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console import teams
from console.models import Team
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

CHOICES_QUERY = 'SELECT "console_application"."id"'


def options(page: str) -> str:
    start = page.index('name="application"')
    return page[start : page.index("</select>", start)]


def test_the_second_page_reads_no_application(staff):
    ApplicationFactory(name="Ride hailing", mode="AXB")
    staff.get("/calls/")
    with CaptureQueriesContext(connection) as queries:
        page = staff.get("/calls/").content.decode()
    assert "Ride hailing (AXB)" in options(page)
    assert not [q for q in queries.captured_queries if q["sql"].startswith(CHOICES_QUERY)]


def test_an_application_renamed_added_or_deleted_shows_on_the_next_page(staff):
    # given the choices in the cache
    ride = ApplicationFactory(name="Ride hailing", mode="AXB")
    assert "Ride hailing (AXB)" in options(staff.get("/calls/").content.decode())
    # when one is renamed, one added
    ride.name = "Taxi"
    ride.save()
    ApplicationFactory(name="Clinic", mode="AXB")
    # then the next page shows both changes
    shown = options(staff.get("/calls/").content.decode())
    assert "Taxi (AXB)" in shown
    assert "Clinic (AXB)" in shown
    assert "Ride hailing" not in shown
    # and a deleted one goes
    ride.delete()
    assert "Taxi" not in options(staff.get("/calls/").content.decode())


def test_each_team_sees_its_own_choices(staff, django_user_model):
    # given two applications, the user's team granted one, after the whole list was cached
    mine = ApplicationFactory(name="Mine", mode="AXB")
    ApplicationFactory(name="Theirs", mode="AXB")
    assert "Theirs" in options(staff.get("/calls/").content.decode())
    team = Team.objects.create(name="Team")
    team.applications.add(mine)
    team.members.add(django_user_model.objects.get(username="kefu"))
    teams.changed()
    # then the user's next page offers only the team's application
    shown = options(staff.get("/calls/").content.decode())
    assert "Mine (AXB)" in shown
    assert "Theirs" not in shown
