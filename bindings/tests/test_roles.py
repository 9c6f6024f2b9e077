"""Roles hold exactly the intended bindings permissions."""

from __future__ import annotations

import pytest

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.tests.test_roles import permissions_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_customer_service_views_creates_and_ends_bindings_and_nothing_else():
    assert permissions_of(CUSTOMER_SERVICE, {"bindings"}) == {
        "bindings.view_binding",
        "bindings.add_binding",
        "bindings.end_binding",
    }


def test_number_administrator_holds_every_bindings_permission():
    assert permissions_of(NUMBER_ADMINISTRATOR, {"bindings"}) == {
        "bindings.add_binding",
        "bindings.change_binding",
        "bindings.delete_binding",
        "bindings.view_binding",
        "bindings.end_binding",
        "bindings.add_xnumber",
        "bindings.change_xnumber",
        "bindings.delete_xnumber",
        "bindings.view_xnumber",
        "bindings.view_reconciliation",
        "bindings.add_numberimport",
        "bindings.view_numberimport",
        "bindings.view_bulkjob",
        # issue 16: tone files, blacklist, A-number register, application policies
        *{
            f"bindings.{action}_{model}"
            for model in ("voicefile", "blacklistentry", "anumberregistration", "applicationpolicy")
            for action in ("add", "change", "delete", "view")
        },
    }
