"""Roles hold exactly the intended recordings permissions."""

from __future__ import annotations

import pytest

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.tests.test_roles import permissions_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_customer_service_views_and_plays_recordings_and_nothing_else():
    assert permissions_of(CUSTOMER_SERVICE, {"recordings"}) == {
        "recordings.view_recording",
        "recordings.play_recording",
    }


def test_number_administrator_holds_every_recordings_permission():
    assert permissions_of(NUMBER_ADMINISTRATOR, {"recordings"}) == {
        "recordings.add_recording",
        "recordings.change_recording",
        "recordings.delete_recording",
        "recordings.view_recording",
        "recordings.play_recording",
        "recordings.download_recording",
        "recordings.monitor_recordings",
    }
