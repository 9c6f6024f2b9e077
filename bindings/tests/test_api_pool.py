"""The pool through the API: usage per city with the forecast of the pool page, and the X
numbers, of the key's applications only (``numbers:read``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bindings.choices import NumberState, PlatformNumberStatus
from bindings.models import ApplicationPolicy, PoolUsageDay, XNumber
from bindings.tests.factories import XNumberFactory
from console.choices import ApiScope
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

READ = ApiScope.NUMBERS_READ


def test_pools_show_usage_resting_capacity_and_the_forecast(api_client):
    # given: an AX pool in 0755 of 10 X, 4 bound, 1 resting, 1 paused by the platform, 1
    # retired, whose peak grew by one binding a day for eight weeks; a second city; another
    # application's pool
    application, other = ApplicationFactory(mode="AX"), ApplicationFactory(mode="AX")
    ApplicationPolicy.objects.create(application=application, forecast_days=14)
    numbers = XNumberFactory.create_batch(10, application=application, city_code="0755")
    XNumber.objects.filter(pk__in=[n.pk for n in numbers[:4]]).update(
        binding_count=1, state=NumberState.IN_USE
    )
    now = timezone.now()
    XNumber.objects.filter(pk=numbers[4].pk).update(
        resting_until=now + timedelta(hours=1), rest_reason="answer rate"
    )
    XNumber.objects.filter(pk=numbers[5].pk).update(platform_status=PlatformNumberStatus.PAUSED)
    XNumber.objects.filter(pk=numbers[6].pk).update(state=NumberState.RETIRED)
    XNumberFactory.create_batch(2, application=application, city_code="010")
    XNumberFactory.create_batch(3, application=other, city_code="0755")
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
    # without the scope: refused
    assert (
        api_client([application], [ApiScope.BINDINGS_READ]).get("/api/v1/pools/").status_code == 403
    )
    # when
    client = api_client([application], [READ])
    pools = client.get("/api/v1/pools/").json()
    # then: this key's application only, one row per city
    assert [(p["application"], p["city_code"]) for p in pools] == [
        (application.pk, "010"),
        (application.pk, "0755"),
    ]
    pool = pools[1]
    assert pool["numbers"] == {
        "total": 10,
        "available": 5,
        "in_use": 4,
        "cooling": 0,
        "retired": 1,
        "resting": 1,
        "blocked": 1,
    }
    assert (pool["bindings"], pool["capacity"], pool["free"]) == (4, 9, 5)
    # the forecast is the pool page's: 5 free at 1 a day, and what to order to last 14 days
    assert pool["forecast"]["wanted_days"] == 14
    assert pool["forecast"]["days_left"] == pytest.approx(5.0)
    assert pool["forecast"]["to_order"] == 9
    assert pools[0]["forecast"]["days_left"] is None  # no use: more than a year
    # filters
    assert [p["city_code"] for p in client.get("/api/v1/pools/", {"city_code": "010"}).json()] == [
        "010"
    ]
    assert client.get("/api/v1/pools/", {"application": other.pk}).json() == []
    assert client.get("/api/v1/pools/", {"application": "me"}).status_code == 400


def test_x_numbers_are_listed_in_full_with_their_status_and_rest(
    api_client, django_assert_max_num_queries
):
    application, other = ApplicationFactory(mode="AXB"), ApplicationFactory(mode="AXB")
    numbers = XNumberFactory.create_batch(4, application=application, city_code="0755")
    theirs = XNumberFactory(application=other, city_code="0755")
    resting = numbers[1]
    XNumber.objects.filter(pk=resting.pk).update(
        resting_until=timezone.now() + timedelta(hours=2), rest_reason="complaints"
    )
    XNumber.objects.filter(pk=numbers[2].pk).update(
        platform_status=PlatformNumberStatus.FROZEN, platform_cause="3"
    )
    assert (
        api_client([application], [ApiScope.CALLS_READ]).get("/api/v1/numbers/").status_code == 403
    )
    client = api_client([application], [READ])
    client.get("/api/v1/numbers/")  # the key's last use is written once
    with django_assert_max_num_queries(2):  # the key, the page
        page = client.get("/api/v1/numbers/").json()
    assert [n["id"] for n in page["results"]] == [n.pk for n in reversed(numbers)]
    shown = {n["id"]: n for n in page["results"]}
    assert shown[resting.pk]["number"] == resting.number  # X is shown in full
    assert shown[resting.pk]["rest_reason"] == "complaints"
    assert shown[resting.pk]["resting_until"]
    assert shown[numbers[2].pk]["platform_status"] == "11"
    assert shown[numbers[2].pk]["platform_cause"] == "3"
    assert client.get(f"/api/v1/numbers/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/numbers/{resting.pk}/").json()["number"] == resting.number
    for query, expected in (
        ({"resting": "true"}, [resting.pk]),
        ({"resting": "false"}, [numbers[3].pk, numbers[2].pk, numbers[0].pk]),
        ({"platform_status": "11"}, [numbers[2].pk]),
        ({"number": numbers[0].number}, [numbers[0].pk]),
        ({"number": numbers[0].number.removeprefix("+86")}, [numbers[0].pk]),
        ({"number": "not a number"}, []),
        ({"city_code": "010"}, []),
        ({"application": other.pk}, []),
    ):
        got = client.get("/api/v1/numbers/", query).json()["results"]
        assert [n["id"] for n in got] == expected, query
