"""The pool forecast against synthetic histories whose answer is known, and its alert."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bindings import forecast
from bindings.models import ApplicationPolicy, PoolUsageDay, XNumber
from bindings.tests.factories import XNumberFactory
from console.choices import AlertKind
from console.models import Alert
from console.testing.factories import ApplicationFactory

SUNDAY = date(2026, 11, 29)
WEDNESDAY = date(2026, 11, 25)


def test_a_flat_rate_lasts_free_over_rate_days():
    projection = forecast.project([10.0] * 56, SUNDAY)
    assert projection.weekly == pytest.approx((1.0,) * 7)
    assert projection.days_left(100) == pytest.approx(10.0)
    assert projection.days_left(105) == pytest.approx(10.5)
    # to last 14 days: 140 bindings, 40 more than free; 4 numbers of 10 each
    assert forecast.numbers_to_order(projection, 100, 14, per_number=10) == 4


def test_a_linear_rise_is_projected_with_its_trend_not_mistaken_for_a_weekly_pattern():
    history = [float(day) for day in range(1, 57)]  # 1, 2, … 56 a day
    projection = forecast.project(history, SUNDAY)
    assert projection.weekly == pytest.approx((1.0,) * 7)
    assert (projection.level, projection.slope) == pytest.approx((56.0, 1.0))
    # the next ten days use 57 + 58 + … + 66 = 615
    assert projection.days_left(615) == pytest.approx(10.0)
    assert forecast.numbers_to_order(projection, 615, 10, per_number=1) == 0
    assert forecast.numbers_to_order(projection, 600, 10, per_number=1) == 15


def test_a_weekly_cycle_uses_the_weekdays_ahead_not_the_average():
    # 20 bindings a day on weekdays, none at weekends, for eight weeks ending on a Wednesday
    history = [
        0.0 if (WEDNESDAY - timedelta(days=55 - i)).weekday() >= 5 else 20.0 for i in range(56)
    ]
    projection = forecast.project(history, WEDNESDAY)
    assert projection.weekly == pytest.approx((1.4,) * 5 + (0.0, 0.0))
    assert projection.slope == pytest.approx(0.0)
    # Thursday 20, Friday 20, the weekend nothing, Monday 20: 60 free last 5 days (the
    # average, 100/7 a day, would say 4.2)
    assert projection.days_left(60) == pytest.approx(5.0)
    # from a Sunday: Monday to Friday use 100
    assert forecast.project(history[:-3], SUNDAY).days_left(100) == pytest.approx(5.0)


def test_no_use_lasts_for_ever():
    assert forecast.project([0.0] * 30, SUNDAY).days_left(5) is None


@pytest.mark.postgres
@pytest.mark.embedded
@pytest.mark.django_db
def test_a_pool_that_runs_out_before_its_horizon_raises_an_alert_that_resolves_itself(
    client, make_user
):
    # given a pool of 10 X of an AX application (one binding per X), 4 of them bound now
    application = ApplicationFactory(mode="AX")
    ApplicationPolicy.objects.create(application=application, forecast_days=14)
    numbers = XNumberFactory.create_batch(10, application=application, city_code="0755")
    XNumber.objects.filter(pk__in=[n.pk for n in numbers[:4]]).update(binding_count=1)
    # and eight weeks of history whose peak grew by one binding a day
    now = timezone.now()
    today = timezone.localdate(now)
    PoolUsageDay.objects.bulk_create(
        PoolUsageDay(
            application=application,
            city_code="0755",
            day=today - timedelta(days=57 - i),
            peak_bindings=i,
            capacity=10,
        )
        for i in range(57)
    )
    # when
    assert forecast.check_pools(now=now) == 1
    # then 6 free at 1 a day: 6 days left; 8 numbers more last 14 days; today is recorded
    assert PoolUsageDay.objects.get(application=application, day=today).peak_bindings == 4
    alert = Alert.objects.get(kind=AlertKind.POOL_LOW, resolved_at__isnull=True)
    assert alert.params["days"] == "6.0"
    assert alert.params["order"] == 8
    # and the pool page says the same
    from console.roles import NUMBER_ADMINISTRATOR

    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    page = client.get(reverse("bindings:usage")).content.decode()
    assert '<td data-field="days_left">6.0</td>' in page
    assert ">8</td>" in page
    # when 20 numbers are added the alert resolves itself
    XNumberFactory.create_batch(20, application=application, city_code="0755")
    assert forecast.check_pools(now=now) == 0
    alert.refresh_from_db()
    assert alert.resolved_at is not None


@pytest.mark.postgres
@pytest.mark.embedded
@pytest.mark.django_db
def test_the_usage_history_is_the_daily_peak_and_a_steady_pool_never_runs_out():
    application = ApplicationFactory(mode="AX")
    numbers = XNumberFactory.create_batch(5, application=application, city_code="0755")
    XNumber.objects.filter(pk=numbers[0].pk).update(binding_count=1)
    now = timezone.now()
    forecast.record_usage(now=now)
    XNumber.objects.filter(pk__in=[n.pk for n in numbers[:3]]).update(binding_count=1)
    forecast.record_usage(now=now)
    XNumber.objects.filter(pk__in=[n.pk for n in numbers[:3]]).update(binding_count=0)
    forecast.record_usage(now=now)
    # the day's peak is kept when bindings end
    assert PoolUsageDay.objects.get(application=application).peak_bindings == 3
    # the same peak every day (bindings end as fast as they come): no day is ever the last
    today = timezone.localdate(now)
    PoolUsageDay.objects.bulk_create(
        PoolUsageDay(
            application=application,
            city_code="0755",
            day=today - timedelta(days=d),
            peak_bindings=3,
        )
        for d in range(1, 30)
    )
    [row] = forecast.forecasts(now=now)
    assert row["days_left"] is None
    assert row["to_order"] == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_pool_running_low_is_announced_once_per_alert_not_on_every_hourly_check():
    from console import webhooks
    from console.models import WebhookMessage, WebhookSubscription

    application = ApplicationFactory(mode="AX")
    subscription = WebhookSubscription(
        application=application, url="http://127.0.0.1:9/", events=["pool.low", "alert.opened"]
    )
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    ApplicationPolicy.objects.create(application=application, forecast_days=14)
    numbers = XNumberFactory.create_batch(10, application=application, city_code="0755")
    XNumber.objects.filter(pk__in=[n.pk for n in numbers[:4]]).update(binding_count=1)
    now = timezone.now()
    today = timezone.localdate(now)
    PoolUsageDay.objects.bulk_create(
        PoolUsageDay(
            application=application,
            city_code="0755",
            day=today - timedelta(days=57 - i),
            peak_bindings=i,
            capacity=10,
        )
        for i in range(57)
    )
    # the hourly check, three times: one alert, bumped twice; one event
    for _hour in range(3):
        assert forecast.check_pools(now=now) == 1
    assert Alert.objects.get(kind=AlertKind.POOL_LOW).count == 3
    (message,) = WebhookMessage.objects.filter(event_type="pool.low")
    data = message.payload["data"]
    assert (data["application"], data["city_code"]) == (application.pk, "0755")
    assert (data["days_left"], data["wanted_days"], data["to_order"], data["free"]) == (
        6.0,
        14,
        8,
        6,
    )
    assert WebhookMessage.objects.filter(event_type="alert.opened").count() == 1
    # resolved, then low again: a new alert, a new event
    extra = XNumberFactory.create_batch(20, application=application, city_code="0755")
    assert forecast.check_pools(now=now) == 0
    XNumber.objects.filter(pk__in=[n.pk for n in extra]).delete()
    assert forecast.check_pools(now=now) == 1
    assert WebhookMessage.objects.filter(event_type="pool.low").count() == 2
