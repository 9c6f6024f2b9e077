"""The one paginator of every list over a table that can grow large (healthchecks' idiom, bounded).

Django's paginator runs ``SELECT COUNT(*)`` over everything the list shows: over a million rows
that is a sequential scan on every page view. :class:`LargeTablePaginator` never does:

* unfiltered, on PostgreSQL: the planner's row estimate of the table (``pg_class.reltuples``,
  kept by autovacuum), when it is above the cap;
* otherwise: an exact count of at most ``cap`` + 1 rows
  (``SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1) subquery``), under a statement timeout. A filter
  no index serves, matching few rows of a big table, would make even that count read the whole
  table: past the timeout the planner's estimate of the filtered query stands in.

So a list filtered down to millions still answers at once; its last pages are reached by narrowing
the filter. Pages past the count are still served by URL. The admin uses it with
``show_full_result_count = False`` (else the changelist counts the unfiltered table itself);
django-tables2 pages that need no page count use ``LazyPaginator`` instead.
"""

from __future__ import annotations

import json
import logging

from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.utils.functional import cached_property

logger = logging.getLogger(__name__)

QUERY_CANCELED = "57014"


class LargeTablePaginator(Paginator):
    """A paginator whose count never reads more than ``cap`` + 1 rows."""

    cap = 5000
    count_timeout_ms = 200

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return len(queryset)
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.order_by()[: self.cap + 1].count()
        query = queryset.query
        if not query.where and not query.combinator and not query.distinct:
            estimate = self._table_estimate(connection, queryset.model._meta.db_table)
            if estimate > self.cap:
                return estimate
        try:
            with transaction.atomic(using=queryset.db):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(self.count_timeout_ms)],
                    )
                count = queryset.order_by()[: self.cap + 1].count()
                # Rolled back (it only read), so the timeout ends here even within a caller's
                # transaction (a released savepoint would keep it until that one ends).
                transaction.set_rollback(True, using=queryset.db)
            return count
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != QUERY_CANCELED:
                raise
        logger.info("count of %s cut short; using the planner's estimate", queryset.model.__name__)
        return max(self._query_estimate(connection, queryset), self.cap + 1)

    @staticmethod
    def _table_estimate(connection, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else -1

    @staticmethod
    def _query_estimate(connection, queryset) -> int:
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


# The deepest page a console list serves (50 rows a page: half a million rows in), and the most
# rows a page may ask for. Deeper is what filters are for; anything else in a paging parameter
# (negative, text, a number with 5,000 digits that overflows OFFSET) is answered 404, not 500.
MAX_PAGE = 10_000
MAX_PER_PAGE = 100


def _bad(value: str, bound: int) -> bool:
    return not value.isdigit() or len(value) > 9 or not 1 <= int(value) <= bound


class BoundedPaging:
    """A console list's paging parameters (``page``, ``risk-page``, ``per_page`` …) are positive
    numbers within bounds, else 404: a request for page 99999999999999999999 once reached
    PostgreSQL as an OFFSET that does not fit a bigint (500)."""

    def dispatch(self, request, *args, **kwargs):
        from django.http import Http404

        for name, value in request.GET.items():
            if name.endswith("per_page") and _bad(value, MAX_PER_PAGE):
                raise Http404("no such page size")
            if name.endswith("page") and not name.endswith("per_page") and _bad(value, MAX_PAGE):
                raise Http404("no such page")
        return super().dispatch(request, *args, **kwargs)
