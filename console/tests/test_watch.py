"""The watch (console.watch): workers or beat gone silent, seen by the web tier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from console import health, watch
from console.choices import AlertKind
from console.models import Alert

pytestmark = [pytest.mark.django_db]


def heartbeat(ago: timedelta) -> None:
    cache.set(health.HEARTBEAT_CACHE_KEY, (timezone.now() - ago).isoformat(), timeout=None)
    open_the_gate()


def open_the_gate() -> None:
    """As a minute later: the shared gate and this process's own are open again."""
    cache.delete(watch.GATE_KEY)
    watch._next_look = 0.0


@pytest.mark.embedded
def test_silent_workers_open_an_alert_the_web_tier_mails_itself_and_it_resolves(
    client, settings, mailoutbox
):
    settings.ALERT_EMAIL_TO = ["ops@example.com"]
    settings.WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=2)
    # given: the last heartbeat is ten minutes old (no worker, or no beat)
    heartbeat(timedelta(minutes=10))
    # when a probe asks /healthz
    client.get(reverse("healthz"))
    # then the alert is open, and it was mailed from here (no worker would send it)
    alert = Alert.objects.get(kind=AlertKind.WORKERS_SILENT, resolved_at__isnull=True)
    assert alert.params["minutes"] == 10
    assert len(mailoutbox) == 1
    assert "No worker has run for 10 minutes" in mailoutbox[0].subject
    assert Alert.objects.get(pk=alert.pk).emailed_at is not None
    # a second look within the minute does nothing (one check a minute for every process)
    client.get(reverse("healthz"))
    assert Alert.objects.get(pk=alert.pk).count == 1
    # when a worker writes the heartbeat again, the next check resolves it
    heartbeat(timedelta(0))
    client.get(reverse("healthz"))
    alert.refresh_from_db()
    assert alert.resolved_at is not None


@pytest.mark.embedded
def test_no_heartbeat_ever_written_says_nothing(client):
    cache.delete(health.HEARTBEAT_CACHE_KEY)
    open_the_gate()
    assert watch.check_heartbeat() is False
    assert not Alert.objects.exists()


def test_the_menu_shows_the_open_alerts_as_a_badge(client, make_user):
    from console import alerts
    from console.roles import NUMBER_ADMINISTRATOR
    from console.testing.factories import ApplicationFactory

    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))

    def badge() -> str | None:
        page = client.get(reverse("home")).content.decode()
        nav = page.split('class="console-nav"', 1)[1].split("</nav>", 1)[0]
        entry = nav.split(reverse("admin:console_alert_changelist"), 1)[1].split("</a>", 1)[0]
        return (
            entry.split('class="nav-badge"', 1)[1].split(">", 1)[1].split("<")[0]
            if ("nav-badge" in entry)
            else None
        )

    assert badge() is None
    application = ApplicationFactory()
    alerts.raise_alert("pool_low", "pool:1:0755", title="low", application=application)
    alerts.raise_alert("pool_low", "pool:1:020", title="low", application=application)
    assert badge() == "2"  # counted again at once, not after the cache's time
    alerts.resolve_alert("pool_low", "pool:1:020")
    assert badge() == "1"
