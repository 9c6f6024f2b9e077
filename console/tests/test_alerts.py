"""Alerts: one open per kind and key, bumped when raised again, acknowledged, resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone, translation
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


# --- delivery: e-mail after commit, webhook with the row ----------------------------------------


@pytest.fixture
def eager_tasks():
    """The tasks queued after commit run at once, in this process (no worker)."""
    from shell.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def mailed(settings, eager_tasks, mailoutbox):
    settings.ALERT_EMAIL_TO = ["ops@example.com", "oncall@example.com"]
    return mailoutbox


def test_an_alert_is_mailed_when_it_opens_not_when_bumped_and_again_when_it_resolves(
    mailed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_locked()
    assert len(mailed) == 1
    assert mailed[0].to == ["ops@example.com", "oncall@example.com"]
    assert "Alert: Platform calls of Ride hailing are paused" in mailed[0].subject
    assert "Platform calls of Ride hailing are paused" in mailed[0].body
    alert.refresh_from_db()
    assert alert.emailed_at is not None
    # bumped twice: no mail
    with django_capture_on_commit_callbacks(execute=True):
        raise_locked()
        raise_locked()
    assert len(mailed) == 1
    # resolved: one mail
    with django_capture_on_commit_callbacks(execute=True):
        alerts.resolve_alert(AlertKind.PLATFORM_LOCKED, "application:1")
    assert len(mailed) == 2
    assert mailed[1].subject.endswith("Resolved: Platform calls of Ride hailing are paused")
    alert.refresh_from_db()
    assert alert.resolution_emailed_at is not None
    # nothing is left for the sweeper
    assert alerts.mail_due(now=timezone.now() + timedelta(hours=1)) == 0
    assert len(mailed) == 2


def test_the_alert_page_says_when_it_was_mailed(boss, mailed, django_capture_on_commit_callbacks):
    add_application()
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_locked()
    page = boss.get(reverse("admin:console_alert_change", args=[alert.pk])).content.decode()
    assert "已发送邮件" in page  # the page reads in Chinese by default
    assert "解除通知已发送邮件" in page


def test_an_alert_is_mailed_in_english_whatever_the_language_it_was_raised_in(
    mailed, django_capture_on_commit_callbacks
):
    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        raise_locked()
    assert "Platform calls of Ride hailing are paused" in mailed[0].body


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")


def test_a_mail_server_that_fails_never_breaks_the_raise_and_the_sweeper_mails_it_later(
    mailed, settings, django_capture_on_commit_callbacks
):
    # given the mail server is down
    settings.EMAIL_BACKEND = "console.tests.test_alerts.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_locked()
    alert.refresh_from_db()
    assert alert.emailed_at is None  # not lost: not mailed
    assert alerts.mail_due() == 0  # given to its task first (ALERT_EMAIL_RETRY_AFTER_SECONDS)
    later = timezone.now() + timedelta(seconds=settings.ALERT_EMAIL_RETRY_AFTER_SECONDS + 1)
    assert alerts.mail_due(now=later) == 0  # still down: tried, logged, kept
    # when the server is back, beat's sweeper mails it, once
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from console.tasks import mail_alerts_task

    settings.ALERT_EMAIL_RETRY_AFTER_SECONDS = 0
    mail_alerts_task()
    mail_alerts_task()
    assert len(mailed) == 1
    alert.refresh_from_db()
    assert alert.emailed_at is not None
    # an alert too old is given up on (a mail server down for days does not flood it later)
    settings.EMAIL_BACKEND = "console.tests.test_alerts.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        alerts.resolve_alert(AlertKind.PLATFORM_LOCKED, "application:1")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    too_late = timezone.now() + timedelta(seconds=settings.ALERT_EMAIL_RETRY_FOR_SECONDS + 1)
    assert alerts.mail_due(now=too_late) == 0
    assert alerts.mail_due(now=later) == 1
    assert mailed[-1].subject.endswith("Resolved: Platform calls of Ride hailing are paused")


def test_without_recipients_nothing_is_mailed_or_queued(
    settings, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAIL_TO = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        raise_locked()
    from console import alerts

    # (the header's count is told after commit; nothing else is)
    assert [c for c in callbacks if c is not alerts._count_changed] == []


def test_an_alert_of_an_application_is_announced_as_webhooks_with_its_row():
    from console import webhooks
    from console.models import WebhookMessage, WebhookSubscription
    from console.testing.factories import ApplicationFactory

    application = ApplicationFactory(name="Ride hailing")
    subscription = WebhookSubscription(
        application=application,
        url="http://127.0.0.1:9/",
        events=["alert.opened", "alert.resolved"],
    )
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    key = f"application:{application.pk}"

    def raise_it():
        return alerts.raise_alert(
            AlertKind.PLATFORM_LOCKED,
            key,
            title=TITLE,
            params={"application": application.name},
            application=application,
        )

    with translation.override("zh-hans"):
        alert = raise_it()
        raise_it()  # a bump: no event
        alerts.resolve_alert(AlertKind.PLATFORM_LOCKED, key)
    messages = list(WebhookMessage.objects.order_by("pk"))
    assert [m.event_type for m in messages] == ["alert.opened", "alert.resolved"]
    opened, resolved = (m.payload["data"] for m in messages)
    assert opened["id"] == resolved["id"] == alert.pk
    assert opened["title"] == "Platform calls of Ride hailing are paused"  # English
    assert (opened["kind"], opened["key"], opened["resolved_at"]) == ("platform_locked", key, None)
    assert resolved["resolved_at"] is not None
    # an alert no application owns (a worker silent): e-mail only
    raise_locked()
    assert WebhookMessage.objects.count() == 2


def test_an_alert_raised_in_a_transaction_that_rolls_back_announces_nothing(
    mailed, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with (  # noqa: PT012
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        raise_locked()
        raise RuntimeError("what raised it failed")
    assert mailed == []
    assert not Alert.objects.exists()
