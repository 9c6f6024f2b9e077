"""The watch (console.watch) driven by real platform calls to the simulator that fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bindings import services
from console import watch
from console.choices import AlertKind
from console.models import Alert, PlatformCall
from privatenumber.errors import PlatformTransientError


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, resolved_at__isnull=True))


@pytest.mark.postgres
@pytest.mark.simulator
@pytest.mark.django_db
def test_a_failing_platform_link_opens_an_alert_that_resolves_when_it_is_over(platform, settings):
    settings.PLATFORM_FAILING_MIN_CALLS = 6
    application = platform.application("AXB", numbers=20)
    # given: the platform answers 503 to every bind
    platform.control.set_faults("axb.bind", http5xx_rate=1, http_status=503)
    bindings = [
        services.create_binding(
            application, {"a_number": f"+861380000{i:04d}", "b_number": f"+861390000{i:04d}"}
        )
        for i in range(6)
    ]
    for binding in bindings:
        with pytest.raises(PlatformTransientError):
            services.bind(binding.pk)
    assert PlatformCall.objects.filter(application=application, http_status=503).count() == 6
    # when the watch runs
    assert watch.check_platform_link() == 1
    # then
    [alert] = open_alerts(AlertKind.PLATFORM_FAILING)
    assert alert.application_id == application.pk
    assert (alert.params["failed"], alert.params["calls"]) == (6, 6)
    # refusals with a result code are the platform answering: they are not the link failing
    platform.control.clear_faults()
    platform.control.set_faults("axb.bind", error_rate=1, error_code="1010002")
    for binding in bindings:
        services.bind(binding.pk)
    PlatformCall.objects.filter(http_status=503).update(
        at=timezone.now() - timedelta(seconds=settings.PLATFORM_FAILING_WINDOW_SECONDS + 60)
    )
    assert watch.check_platform_link() == 0
    alert.refresh_from_db()
    assert alert.resolved_at is not None
