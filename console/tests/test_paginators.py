"""The paginator of big lists: estimate, bounded count, and a count cut short by its timeout."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console.models import PlatformCall
from console.paginators import LargeTablePaginator
from console.testing.factories import ApplicationFactory, PlatformCallFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class SmallCap(LargeTablePaginator):
    cap = 3


@pytest.fixture
def calls(db):
    application = ApplicationFactory()
    return PlatformCallFactory.create_batch(6, application=application)


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def test_an_unfiltered_list_reads_the_planners_estimate_without_counting(calls):
    # given the statistics of the table
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bindings_platformcall")
    # when
    with CaptureQueriesContext(connection) as queries:
        count = SmallCap(PlatformCall.objects.all(), 2).count
    # then
    assert count == 6
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"]]


def test_a_filtered_list_counts_at_most_cap_plus_one_rows(calls):
    queryset = PlatformCall.objects.filter(result_code="0")
    assert SmallCap(queryset, 2).count == 4
    assert LargeTablePaginator(queryset, 2).count == 6


def test_a_count_past_its_timeout_gives_the_estimate_and_the_timeout_is_restored(calls):
    # given a filter that takes 50 ms a row, and a caller's own statement timeout
    slow = PlatformCall.objects.extra(where=["pg_sleep(0.05) IS NOT NULL"])
    paginator = LargeTablePaginator(slow, 2)
    paginator.cap, paginator.count_timeout_ms = 10, 20
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '7s'")
    # when
    count = paginator.count
    # then the page goes on with the estimate, at least the cap + 1 (counted, it would be 6), and
    # the caller's timeout is back
    assert count >= 11
    assert statement_timeout() == "7s"
    assert PlatformCall.objects.count() == 6  # the transaction is still usable


def test_the_count_leaves_the_callers_statement_timeout_alone(calls):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '7s'")
    assert LargeTablePaginator(PlatformCall.objects.filter(result_code="0"), 2).count == 6
    assert statement_timeout() == "7s"
