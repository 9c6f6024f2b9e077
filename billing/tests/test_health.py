"""The number-health guard: figures from real CDRs pushed through the receivers, rests, alerts,
and binding choosing another X (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.timesince import timesince

from billing import health
from billing.models import NumberComplaint, NumberHealth
from billing.tests.factories import fee, fee_push, unanswered
from bindings import services as bindings_services
from bindings.choices import PlatformNumberStatus
from bindings.models import ApplicationPolicy, XNumber
from console.choices import AlertKind
from console.models import Alert
from console.testing import wait_until
from console.testing.factories import ApplicationFactory, post_push

X1, X2 = "+8617012340001", "+8617012340002"
A, B = "+8613800000001", "+8613900000002"


def pool(application) -> tuple[XNumber, XNumber]:
    first = XNumber.objects.create(application=application, number=X1, city_code="0755")
    # X2 carries more bindings: the pool would choose X1 first
    second = XNumber.objects.create(
        application=application, number=X2, city_code="0755", binding_count=3
    )
    return first, second


def calls(application, x: str, count: int, *, talk: int = 60, answered: bool = True) -> list:
    started = timezone.now() - timedelta(hours=2)
    bodies = []
    for i in range(count):
        body = fee(
            application,
            talk=talk,
            started=started + timedelta(seconds=i),
            bindNum=x,
            calleeNum=x,
            fwdDisplayNum=x,
        )
        bodies.append(body if answered else unanswered(body))
    return bodies


@pytest.mark.postgres
@pytest.mark.redis
def test_the_guard_rests_an_x_whose_short_calls_cross_the_threshold_and_binding_chooses_another(
    client, celery_worker
):
    from django.core.cache import cache

    from billing.tasks import assess_recent_numbers_task

    # given an AXB application whose least loaded X is X1, and the minute job already past
    # every CDR stored so far
    application = ApplicationFactory(mode="AXB")
    first, _second = pool(application)
    health.assess_recent()
    # when 25 three-second calls of X1 arrive as a CDR push, through the receiver
    body = fee_push(*calls(application, X1, 25, talk=3))
    assert post_push(client, "fee", body, application).status_code == 200
    assert not NumberHealth.objects.exists()  # intake computed nothing
    # and the minute job runs on a real worker
    assess_recent_numbers_task.delay()
    # then it rested X1, with the reason and an alert
    wait_until(
        lambda: XNumber.objects.filter(pk=first.pk, resting_until__isnull=False).exists(),
        timeout=20,
    )
    # (the cursor is written once the whole run is done, just after the rest)
    wait_until(lambda: cache.get(health.CURSOR_KEY) is not None, timeout=20)
    first.refresh_from_db()
    assert "short calls 100%" in first.rest_reason
    alert = Alert.objects.get(kind=AlertKind.X_RESTING, resolved_at__isnull=True)
    assert alert.key == f"xnumber:{first.pk}"
    # and a new binding takes X2, although X1 carries fewer
    binding = bindings_services.create_binding(application, {"a_number": A, "b_number": B})
    assert binding.x_number == X2
    # when the rest is over, the next assessment gives X1 back and resolves the alert
    XNumber.objects.filter(pk=first.pk).update(resting_until=timezone.now() - timedelta(seconds=1))
    assert health.assess(application) == []  # the calls that earned the rest count no more
    assert not Alert.objects.filter(kind=AlertKind.X_RESTING, resolved_at__isnull=True).exists()
    again = bindings_services.create_binding(
        application, {"a_number": "+8613800000005", "b_number": "+8613900000005"}
    )
    assert again.x_number == X1


@pytest.mark.embedded
@pytest.mark.django_db
def test_the_figures_of_each_x_come_from_its_own_cdrs(client):
    # given X1 with 30 calls: 10 unanswered, 20 answered of which 5 short; X2 with 3 calls
    application = ApplicationFactory(mode="AXB")
    first, second = pool(application)
    cdrs = (
        calls(application, X1, 10, answered=False)
        + calls(application, X1, 15, talk=120)
        + calls(application, X1, 5, talk=4)
        + calls(application, X2, 3, talk=4)
    )
    assert post_push(client, "fee", fee_push(*cdrs), application).status_code == 200
    # when
    rested = health.assess(application)
    # then
    one = NumberHealth.objects.get(x=first)
    assert (one.calls, one.answered, one.short_calls) == (30, 20, 5)
    assert one.answer_rate == pytest.approx(20 / 30)
    assert one.short_call_ratio == pytest.approx(5 / 20)
    assert one.unanswered_ratio == pytest.approx(10 / 30)
    assert sum(day[1] for day in one.daily) == 30
    assert rested == []  # all within the default thresholds
    # X2's calls are all short, but 3 calls are too few to judge
    two = NumberHealth.objects.get(x=second)
    assert (two.calls, two.short_call_ratio, two.score) == (3, 1.0, 0)


@pytest.mark.postgres
@pytest.mark.django_db
def test_complaints_entered_by_an_administrator_rest_an_x_by_the_applications_threshold():
    application = ApplicationFactory(mode="AXB")
    first, _second = pool(application)
    ApplicationPolicy.objects.create(application=application, max_complaints=0, rest_hours=24)
    NumberComplaint.objects.create(x=first, note="harassment")
    rested = health.assess(application)
    assert [x.pk for x in rested] == [first.pk]
    first.refresh_from_db()
    assert first.rest_reason == "1 complaints > 0"
    assert first.resting_until > timezone.now() + timedelta(hours=23)


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_x_status_push_opens_an_alert_that_resolves_when_the_number_is_normal_again(client):
    application = ApplicationFactory(mode="AXB")
    _first, _second = pool(application)
    restricted = {
        "eventType": "numStatus",
        "numInfo": [{"number": X1, "status": "10", "cause": "5"}],
    }
    normal = {"eventType": "numStatus", "numInfo": [{"number": X1, "status": "5"}]}
    assert post_push(client, "xstatus", restricted, application).status_code == 200
    alert = Alert.objects.get(kind=AlertKind.X_STATUS)
    assert alert.resolved_at is None
    assert alert.params["cause"] == "5"
    assert post_push(client, "xstatus", normal, application).status_code == 200
    alert.refresh_from_db()
    assert alert.resolved_at is not None


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_worst_numbers_page_lists_the_worst_first(client, make_user):
    from console.roles import NUMBER_ADMINISTRATOR

    application = ApplicationFactory(mode="AXB")
    _first, second = pool(application)
    NumberComplaint.objects.create(x=second)
    NumberComplaint.objects.create(x=second)
    assert (
        post_push(client, "fee", fee_push(*calls(application, X1, 3)), application).status_code
        == 200
    )
    health.assess(application)
    assert NumberHealth.objects.count() == 2
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    XNumber.objects.filter(pk=second.pk).update(
        platform_status="11", platform_status_at=timezone.now() - timedelta(days=2)
    )
    page = client.get(reverse("billing:worst-numbers")).content.decode()
    assert page.index("0002") < page.index("0001")
    row = page.split("0002", 1)[1].split("</tr>", 1)[0]
    with translation.override("zh-hans"):
        assert str(PlatformNumberStatus.FROZEN.label) in row  # and for how long
        assert timesince(timezone.now() - timedelta(days=2)) in row


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_minute_job_assesses_only_applications_that_got_cdrs_since_its_last_run(client):
    from django.core.cache import cache

    busy, quiet = ApplicationFactory(mode="AXB"), ApplicationFactory(mode="AXB")
    XNumber.objects.create(application=busy, number=X1, city_code="0755")
    XNumber.objects.create(application=quiet, number=X2, city_code="0755")
    assert post_push(client, "fee", fee_push(*calls(quiet, X2, 2)), quiet).status_code == 200
    cache.delete(health.CURSOR_KEY)
    health.assess_recent()  # the first run after a cache loss: everything
    assert NumberHealth.objects.filter(application=quiet).exists()
    NumberHealth.objects.all().delete()
    # when only the busy application gets CDRs
    assert post_push(client, "fee", fee_push(*calls(busy, X1, 3)), busy).status_code == 200
    health.assess_recent()
    # then only it is assessed; and a run with nothing new does nothing
    assert list(NumberHealth.objects.values_list("application_id", flat=True)) == [busy.pk]
    NumberHealth.objects.all().delete()
    health.assess_recent()
    assert not NumberHealth.objects.exists()


def x_status(client, application, number: str, status: str, cause: str = "") -> None:
    info = {"number": number, "status": status, **({"cause": cause} if cause else {})}
    body = {"eventType": "numStatus", "numInfo": [info]}
    assert post_push(client, "xstatus", body, application).status_code == 200


def pushed_ago(x: XNumber, hours: float) -> None:
    """Date the X's last pushed status change ``hours`` back (the push itself arrived now)."""
    from bindings.models import XStatusChange

    last = XStatusChange.objects.filter(x=x).latest("at")
    XStatusChange.objects.filter(pk=last.pk).update(at=timezone.now() - timedelta(hours=hours))


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_carrier_restriction_pushed_by_the_platform_counts_as_a_complaint(client):
    from bindings.models import XStatusChange

    # given an application that rests an X at its first complaint
    application = ApplicationFactory(mode="AXB")
    first, second = pool(application)
    ApplicationPolicy.objects.create(application=application, max_complaints=0)
    # when the platform restricts X1 (status 10, cause 5: a blacklisting), twice, and lifts it
    x_status(client, application, X1, "10", "5")
    x_status(client, application, X1, "10", "5")  # the same push again changes nothing
    x_status(client, application, X1, "5")
    # and makes X2 unavailable for another cause (2: arrears), which is no complaint, and back
    x_status(client, application, X2, "10", "2")
    x_status(client, application, X2, "5")
    assert XStatusChange.objects.filter(x=first).count() == 2
    rested = health.assess(application)
    # then X1 rests for one complaint from the carrier; X2 does not
    assert [x.pk for x in rested] == [first.pk]
    first.refresh_from_db()
    assert first.rest_reason.startswith("1 complaints (1 by the carrier) > 0")
    one = NumberHealth.objects.get(x=first)
    assert (one.complaints, one.restrictions) == (1, 1)
    assert NumberHealth.objects.get(x=second).complaints == 0
    # and a new binding does not take X1 although it is normal again and the least loaded
    binding = bindings_services.create_binding(application, {"a_number": A, "b_number": B})
    assert binding.x_number == X2


@pytest.mark.embedded
@pytest.mark.django_db
def test_the_hours_an_x_spent_out_of_service_rest_it_past_the_threshold(client):
    # given an application that allows 10 hours out of service in its 7-day window
    application = ApplicationFactory(mode="AXB")
    first, second = pool(application)
    ApplicationPolicy.objects.create(application=application, max_unusable_hours=10)
    # X1: frozen 30 hours ago, normal again 18 hours ago (12 hours out of service)
    x_status(client, application, X1, "11")
    pushed_ago(first, 30)
    x_status(client, application, X1, "5")
    pushed_ago(first, 18)
    # X2: paused 4 hours ago, and still paused
    x_status(client, application, X2, "9")
    pushed_ago(second, 4)
    # when
    rested = health.assess(application)
    # then X1 rests for its 12 hours; X2's 4 hours so far are within the threshold
    assert [x.pk for x in rested] == [first.pk]
    first.refresh_from_db()
    assert first.rest_reason == "12 h out of service > 10 h"
    assert NumberHealth.objects.get(x=first).unusable_hours == pytest.approx(12, abs=0.01)
    assert NumberHealth.objects.get(x=second).unusable_hours == pytest.approx(4, abs=0.01)


@pytest.mark.embedded
@pytest.mark.django_db
def test_time_out_of_service_before_the_window_is_not_counted(client):
    application = ApplicationFactory(mode="AXB")
    first, _second = pool(application)
    ApplicationPolicy.objects.create(
        application=application, health_window_days=1, max_unusable_hours=20
    )
    # frozen 40 hours ago, still frozen: only the window's 24 hours count
    x_status(client, application, X1, "11")
    pushed_ago(first, 40)
    health.assess(application)
    assert NumberHealth.objects.get(x=first).unusable_hours == pytest.approx(24, abs=0.01)
    # and after a rest, the hours that earned it are not counted again
    first.refresh_from_db()
    assert first.resting_until is not None
    XNumber.objects.filter(pk=first.pk).update(resting_until=timezone.now())
    health.assess(application)
    assert NumberHealth.objects.get(x=first).unusable_hours < 0.1
