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


def grown_by_one_a_day(application, today: date) -> None:
    """Eight weeks of a Shenzhen pool of 10 whose peak grew by one binding a day, to yesterday."""
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
    grown_by_one_a_day(application, today)
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
    grown_by_one_a_day(application, today)
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


def test_the_chart_draws_the_past_peaks_the_projection_and_where_capacity_runs_out():
    # given a pool of capacity 10 with 4 live bindings, whose peak grew by one a day
    today = date(2026, 12, 2)
    peaks = {today - timedelta(days=d): 4 - d for d in range(1, 4)}  # 3, 2, 1
    projection = forecast.project([1.0] * 56, today - timedelta(days=1))
    drawn = forecast.chart(peaks, projection, today=today, bindings=4, capacity=10, ahead=14)
    width, height = forecast.Chart.WIDTH, forecast.Chart.HEIGHT
    days = forecast.CHART_PAST_DAYS + 14

    def point(day: float, value: float) -> str:
        return f"{round(day * width / days, 1)},{round(height - value * (height - 4) / 18, 1)}"

    # the top is the highest projected value: 4 + 14 days at 1 a day
    assert drawn.top == 18
    # three recorded days, then today's count
    assert drawn.past.split() == [point(25, 1), point(26, 2), point(27, 3), point(28, 4)]
    ahead = drawn.ahead.split()
    assert ahead[0] == point(28, 4)
    assert ahead[-1] == point(42, 18)
    assert len(ahead) == 15
    # 6 free at 1 a day: the line crosses the capacity six days after today
    assert drawn.runs_out_x == round(34 * width / days, 1)
    assert drawn.capacity_y == round(height - 10 * (height - 4) / 18, 1)
    # a pool that lasts beyond the horizon has no crossing
    steady = forecast.project([0.0] * 56, today - timedelta(days=1))
    assert (
        forecast.chart({}, steady, today=today, bindings=4, capacity=10, ahead=14).runs_out_x
        is None
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_pool_page_and_the_dashboard_draw_each_pools_forecast(client, make_user):
    from console.roles import NUMBER_ADMINISTRATOR

    # given two pools: Shenzhen runs out in 6 days, Guangzhou never
    application = ApplicationFactory(mode="AX")
    shenzhen = XNumberFactory.create_batch(10, application=application, city_code="0755")
    XNumberFactory.create_batch(10, application=application, city_code="020")
    XNumber.objects.filter(pk__in=[n.pk for n in shenzhen[:4]]).update(binding_count=1)
    today = timezone.localdate()
    grown_by_one_a_day(application, today)
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    # the pool page: one chart per pool; Shenzhen's has the red line, Guangzhou's not
    page = client.get(reverse("bindings:usage")).content.decode()
    rows = {
        city: page.split(f'data-city="{city}"', 1)[1].split("</tr>", 1)[0]
        for city in ("0755", "020")
    }
    assert all('class="pool-chart"' in row for row in rows.values())
    assert 'class="runs-out"' in rows["0755"]
    assert 'class="runs-out"' not in rows["020"]
    # the dashboard (from the hourly record beat writes, not the live pool) lists the pool that
    # runs out first, first, with its chart
    forecast.record_usage()
    dashboard = client.get(reverse("billing:dashboard")).content.decode()
    section = dashboard.split('class="billing-box dashboard-pools"', 1)[1].split("</section>")[0]
    assert section.index('data-city="0755"') < section.index('data-city="020"')
    assert section.count('class="pool-chart"') == 2
    # and a user who may not see the pools does not get them
    from console.roles import CUSTOMER_SERVICE

    client.force_login(make_user("agent", CUSTOMER_SERVICE))
    answer = client.get(reverse("billing:dashboard"))
    assert answer.status_code == 200
    assert "dashboard-period" in answer.content.decode()
    assert "dashboard-pools" not in answer.content.decode()
