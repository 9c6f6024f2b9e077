"""Alerts: one open per kind and key, bumped when raised again, acknowledged, resolved."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from console import alerts
from console.choices import AlertKind
from console.models import Alert, AuditLog
from console.tests.test_applications import add_application

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TITLE = gettext_noop("Platform calls of %(application)s are paused")


def raise_locked(**params):
    return alerts.raise_alert(
        AlertKind.PLATFORM_LOCKED,
        "application:1",
        title=TITLE,
        params={"application": "Ride hailing", **params},
    )


def test_raising_an_open_alert_again_bumps_it_instead_of_adding_a_row():
    first = raise_locked()
    again = raise_locked()
    assert first.pk == again.pk
    assert (again.count, Alert.objects.count()) == (2, 1)
    assert again.last_seen_at >= first.last_seen_at


def test_a_resolved_alert_raised_again_is_a_new_one():
    first = raise_locked()
    assert alerts.resolve_alert(AlertKind.PLATFORM_LOCKED, "application:1") == 1
    assert alerts.resolve_alert(AlertKind.PLATFORM_LOCKED, "application:1") == 0
    second = raise_locked()
    assert second.pk != first.pk
    assert alerts.open_count() == 1


def test_an_alert_reads_in_the_language_of_the_reader():
    alert = raise_locked()
    with translation.override("en"):
        assert alerts.render(alert)[0] == "Platform calls of Ride hailing are paused"
    with translation.override("zh-hans"):
        assert alerts.render(alert)[0] == "Ride hailing 的平台调用已暂停"


def test_an_administrator_lists_open_alerts_and_acknowledges_one(boss):
    # given
    add_application()
    alert = raise_locked()
    # when
    listed = boss.get(reverse("admin:console_alert_changelist"))
    home = boss.get("/")
    acknowledged = boss.post(
        reverse("admin:console_alert_changelist"),
        {"action": "acknowledge_selected", "_selected_action": [alert.pk]},
    )
    # then
    assert "Ride hailing" in listed.content.decode()
    assert 'data-field="open-alerts">1<' in home.content.decode()
    assert acknowledged.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "boss"
    assert alert.is_open  # acknowledged, not resolved: the condition is still there
    assert AuditLog.objects.filter(action="acknowledge", target_id=str(alert.pk)).exists()


def test_customer_service_sees_no_alert(staff):
    raise_locked()
    assert staff.get(reverse("admin:console_alert_changelist")).status_code == 403
    assert 'data-field="open-alerts"' not in staff.get("/").content.decode()
