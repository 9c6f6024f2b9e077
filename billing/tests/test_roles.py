"""Roles hold exactly the intended billing permissions."""

from __future__ import annotations

import pytest

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.tests.test_roles import permissions_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_customer_service_reads_calls_events_and_sms_and_nothing_else():
    assert permissions_of(CUSTOMER_SERVICE, {"billing"}) == {
        "billing.view_callrecord",
        "billing.view_callevent",
        "billing.view_smsrecord",
    }


def test_number_administrator_holds_calls_tariffs_and_statements():
    assert permissions_of(NUMBER_ADMINISTRATOR, {"billing"}) == {
        "billing.view_callrecord",
        "billing.view_callevent",
        "billing.view_smsrecord",
        "billing.stop_call",
        "billing.add_tariff",
        "billing.change_tariff",
        "billing.delete_tariff",
        "billing.view_tariff",
        "billing.view_statement",
        "billing.close_statement",
        "billing.add_package",
        "billing.change_package",
        "billing.delete_package",
        "billing.view_package",
        "billing.add_billreconciliation",
        "billing.view_billreconciliation",
        # issue 16: the number-health guard
        "billing.add_numbercomplaint",
        "billing.change_numbercomplaint",
        "billing.delete_numbercomplaint",
        "billing.view_numbercomplaint",
        "billing.view_numberhealth",
    }


def test_nobody_may_edit_or_delete_what_the_platform_reported():
    for role in (CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR):
        held = permissions_of(role, {"billing"})
        for model in (
            "callrecord",
            "callevent",
            "smsrecord",
            "statement",
            "callstat",
            "settledhour",
            "packagedraw",
            "billdifference",
        ):
            assert not held & {f"billing.{a}_{model}" for a in ("add", "change", "delete")}, role
