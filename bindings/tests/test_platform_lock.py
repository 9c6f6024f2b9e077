"""1020176 (the client IP is locked after repeated authentication failures) pauses an application.

Every further request would only prolong the lock, so nothing more is sent for the application:
its client's gate refuses, its tasks come back later without spending their retries, the
administrators get an alert, and one of them resumes the calls once the cause is fixed.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from bindings import services
from bindings.choices import BindingStatus
from bindings.tasks import bind_binding_task
from console import gateway
from console.choices import AlertKind
from console.gateway import ApplicationPaused
from console.models import Alert, AuditLog, PlatformCall
from privatenumber.errors import PlatformTransientError

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.django_db]

A, B = "+8613800000001", "+8613900000002"


def test_a_1020176_answer_pauses_the_application_and_nothing_more_is_sent(platform, settings):
    # given: the platform answers the bind with 1020176
    application = platform.application("AXB")
    binding = services.create_binding(application, {"a_number": A, "b_number": B})
    platform.control.set_faults("axb.bind", error_rate=1, error_code="1020176", times=1)
    # when
    with pytest.raises(PlatformTransientError) as locked:
        services.bind(binding.pk)
    # then: the application is paused and the administrators alerted; the binding waits
    assert locked.value.code == "1020176"
    application.refresh_from_db()
    assert application.calls_paused
    assert application.calls_paused_reason.startswith("1020176")
    alert = Alert.objects.get(kind=AlertKind.PLATFORM_LOCKED, resolved_at__isnull=True)
    assert alert.application == application
    binding.refresh_from_db()
    assert binding.status == BindingStatus.PENDING
    sent = platform.control.metrics()["interfaces"]["axb.bind"]["count"]
    calls = PlatformCall.objects.count()
    # when the task runs again while the application is paused
    settings.PLATFORM_PAUSED_RECHECK_SECONDS = 300
    with mock.patch.object(bind_binding_task, "apply_async") as requeued:
        bind_binding_task.apply((binding.pk,))
    # then: nothing was sent, and the task comes back later as a new message
    assert platform.control.metrics()["interfaces"]["axb.bind"]["count"] == sent
    assert PlatformCall.objects.count() == calls
    requeued.assert_called_once_with((binding.pk,), {}, countdown=300)
    with pytest.raises(ApplicationPaused):
        services.bind(binding.pk)


def test_an_administrator_resumes_the_platform_calls(platform, boss):
    # given a paused application
    application = platform.application("AXB")
    binding = services.create_binding(application, {"a_number": A, "b_number": B})
    platform.control.set_faults("axb.bind", error_rate=1, error_code="1020176", times=1)
    with pytest.raises(PlatformTransientError):
        services.bind(binding.pk)
    # when an administrator resumes it
    page = boss.get(reverse("admin:console_application_change", args=[application.pk]))
    response = boss.post(
        reverse("admin:console_application_changelist"),
        {"action": "resume_platform_calls", "_selected_action": [application.pk]},
    )
    # then
    assert "1020176" in page.content.decode()
    assert response.status_code == 302
    application.refresh_from_db()
    assert not application.calls_paused
    assert not Alert.objects.filter(kind=AlertKind.PLATFORM_LOCKED, resolved_at__isnull=True)
    assert AuditLog.objects.filter(action="resume", target_id=str(application.pk)).exists()
    services.bind(binding.pk)  # the waiting bind goes out now
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE


def test_customer_service_cannot_resume_the_platform_calls(platform, staff):
    application = platform.application("AXB")
    gateway.pause(application.pk, "1020176")
    staff.post(
        reverse("admin:console_application_changelist"),
        {"action": "resume_platform_calls", "_selected_action": [application.pk]},
    )
    application.refresh_from_db()
    assert application.calls_paused
