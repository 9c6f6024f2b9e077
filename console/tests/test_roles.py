"""The two roles exist after migrating, with exactly the intended permissions.

Each app tests the permissions it grants (``<app>/tests/test_roles.py``) with
:func:`permissions_of`, restricted to its own app labels; this file covers the console's own and
the third-party apps', and checks that no permission comes from an app nobody accounted for.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ACCOUNTED_APPS = {"console", "django_celery_beat", "axes", "bindings", "billing", "recordings"}
CONSOLE_APPS = {"console", "django_celery_beat", "axes"}


def permissions_of(role: str, app_labels: set[str] | None = None) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
        if app_labels is None or p.content_type.app_label in app_labels
    }


# Written out by hand on purpose: the test must not derive the expectation from the code under test.
EXPECTED_ADMINISTRATOR = {
    f"django_celery_beat.{action}_{model}"
    for model in (
        "periodictask",
        "intervalschedule",
        "crontabschedule",
        "solarschedule",
        "clockedschedule",
    )
    for action in ("add", "change", "delete", "view")
} | {
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accessfailurelog",
    "axes.delete_accessfailurelog",
    "axes.view_accesslog",
    "axes.delete_accesslog",
    "console.add_application",
    "console.change_application",
    "console.view_application",
    "console.view_auditlog",
    "console.view_delivery",
    "console.reprocess_delivery",
    "console.download_delivery_body",
    "console.release_delivery",
    "console.view_alert",
    "console.acknowledge_alert",
    "console.view_real_numbers",
    # granted by bindings 0002 when the model was the bindings app's (moved in issue 18)
    "console.view_platformcall",
    # retention policies and erasure requests (issue 17, docs/privacy.md)
    "console.add_retentionpolicy",
    "console.change_retentionpolicy",
    "console.delete_retentionpolicy",
    "console.view_retentionpolicy",
    "console.erase_personal_data",
    "console.add_accessrequest",
    "console.view_accessrequest",
    # issue 15: API keys, webhook subscriptions, the outbox and redelivery
    "console.add_apikey",
    "console.change_apikey",
    "console.view_apikey",
    "console.add_webhooksubscription",
    "console.change_webhooksubscription",
    "console.view_webhooksubscription",
    "console.view_webhookmessage",
    "console.view_webhookdelivery",
    "console.change_webhookdelivery",
}


def test_migrations_create_both_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "客服 / Customer service",
        "号码管理员 / Number administrator",
    }


def test_customer_service_has_no_console_level_permission():
    assert permissions_of(CUSTOMER_SERVICE, CONSOLE_APPS) == set()


def test_number_administrator_has_exactly_the_console_level_permissions():
    assert permissions_of(NUMBER_ADMINISTRATOR, CONSOLE_APPS) == EXPECTED_ADMINISTRATOR


def test_no_role_holds_a_permission_of_an_unaccounted_app():
    for role in (CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR):
        labels = {perm.split(".")[0] for perm in permissions_of(role)}
        assert labels <= ACCOUNTED_APPS, role


def test_customer_service_holds_nothing_about_secrets_pools_tariffs_or_statements():
    forbidden = (
        "application",
        "xnumber",
        "tariff",
        "statement",
        "django_celery_beat",
        "auditlog",
        "apikey",
        "webhook",
    )
    assert not [
        perm for perm in permissions_of(CUSTOMER_SERVICE) if any(word in perm for word in forbidden)
    ]
