"""The two roles exist after migrating, with exactly the intended permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def permissions_of(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


# Written out by hand on purpose: the test must not derive the expectation from the code under test.
EXPECTED_CUSTOMER_SERVICE: set[str] = set()

EXPECTED_ADMINISTRATOR_BASE = {
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
}


def test_migrations_create_both_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "客服 / Customer service",
        "号码管理员 / Number administrator",
    }


def test_customer_service_has_exactly_its_permissions():
    assert permissions_of(CUSTOMER_SERVICE) == EXPECTED_CUSTOMER_SERVICE


def test_number_administrator_has_exactly_its_permissions():
    assert permissions_of(NUMBER_ADMINISTRATOR) == EXPECTED_ADMINISTRATOR_BASE


def test_customer_service_holds_nothing_about_secrets_pools_tariffs_or_statements():
    forbidden_apps_or_models = (
        "application",
        "xnumber",
        "tariff",
        "statement",
        "django_celery_beat",
    )
    assert not [
        perm
        for perm in permissions_of(CUSTOMER_SERVICE)
        if any(word in perm for word in forbidden_apps_or_models)
    ]
