"""Filters of the calls list and the statements (django-filter).

Every filter of the calls list maps to an index (see ``CallRecord.Meta.indexes``): dates to
``started_at``, application, X and outcome to their ``(…, started_at)`` indexes, and the search
box to exact matches of the number columns (a number typed any way is normalised with
``console.numbers.search_form``) or of the session id, record key and subscriptionId.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django.db import connections
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import widgets
from billing.choices import CallOutcome
from billing.models import CallRecord, Statement
from console.models import Application
from console.numbers import search_form

# Every column a party's number can be in, each indexed. calleeNum is left out: it is the number
# dialled, which is bindNum (spec §6.2), and an unindexed column would turn the search into a scan.
NUMBER_COLUMNS = ("caller_num", "bind_num", "fwd_display_num", "fwd_dst_num")


def local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


ID_COLUMNS = ("session_id", "cdr_key", "subscription_id")
CALLS_PER_PAGE = 50
# A search pages this deep at most (each page reads per_page × page rows per column).
MAX_SEARCH_PAGE = 200


def match_any(queryset, columns: tuple[str, ...], value: str, *, first: int):
    """The newest ``first`` rows where any of ``columns`` equals ``value``: a UNION of one
    index read per column.

    ``a = v OR b = v … ORDER BY started_at DESC LIMIT 51`` lets PostgreSQL guess how many rows
    match from each column's statistics: a caller's number, looked up among X numbers (2,000
    distinct values), "matches" thousands of rows, so the planner walks the newest-first index
    hoping to meet 51 of them soon and reads all five million. One branch per column reads only
    its ``first`` newest rows from its own ``(column, started_at)`` index; the newest ``first`` of
    all of them are among those, and UNION (not UNION ALL) keeps a row matching two columns once.
    An X number is in two columns of every call through it (bindNum and the displayed number):
    excluding the earlier columns' rows in each branch instead made PostgreSQL read and reject
    every call of that X before the first row (0.4 s for 2,500 calls).

    A database that cannot order and slice the branches of a compound statement (SQLite, the
    embedded setup) gets :func:`match_any_portable` instead, which finds the same rows.
    """
    if queryset.query.is_empty():
        return queryset  # .none(): a union of sliced empty branches could not be ordered
    if not connections[queryset.db].features.supports_slicing_ordering_in_compound:
        return match_any_portable(queryset, columns, value)
    branches = [
        queryset.filter(**{column: value}).order_by("-started_at", "-id")[:first]
        for column in columns
    ]
    return branches[0].union(*branches[1:])


def match_any_portable(queryset, columns: tuple[str, ...], value: str):
    """The ORM twin of :func:`match_any`: ``a = v OR b = v …``, ordered and sliced by the caller.

    Its newest rows are the union's (``billing/tests/test_twins.py`` shows it on both databases);
    SQLite reads each column's index for an OR of equalities (a multi-index OR) anyway.
    """
    condition = Q()
    for column in columns:
        condition |= Q(**{column: value})
    return queryset.filter(condition)


def rows_needed(request, per_page: int = CALLS_PER_PAGE) -> int:
    """Rows up to the end of the requested page, and one more (what ``LazyPaginator`` reads)."""
    try:
        page = int((request.GET.get("page") if request is not None else None) or 1)
    except ValueError:
        page = 1
    return min(max(page, 1), MAX_SEARCH_PAGE) * per_page + 1


class CallRecordFilterSet(django_filters.FilterSet):
    """Date range (local days), application, X, outcome and a search box.

    Its widgets are ``billing.widgets``: Django's markup, written without the template engine.
    """

    since = django_filters.DateFilter(
        label=_("From"), method="filter_since", widget=widgets.DateInput(format="%Y-%m-%d")
    )
    until = django_filters.DateFilter(
        label=_("To"), method="filter_until", widget=widgets.DateInput(format="%Y-%m-%d")
    )
    application = widgets.ApplicationChoiceFilter(
        label=_("Application"),
        queryset=Application.objects.order_by("name"),
        widget=widgets.Select,
    )
    x = django_filters.CharFilter(label=_("X number"), method="filter_x", widget=widgets.TextInput)
    outcome = django_filters.ChoiceFilter(
        label=_("Outcome"), choices=CallOutcome.choices, widget=widgets.Select
    )
    q = django_filters.CharFilter(
        label=_("Number or id"),
        method="filter_search",
        help_text=_("Any number as typed, or a session id, icid or subscriptionId."),
        widget=widgets.TextInput,
    )

    class Meta:
        model = CallRecord
        fields = ()

    def filter_since(self, queryset, name, value):
        return queryset.filter(started_at__gte=local_midnight(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(started_at__lt=local_midnight(value + timedelta(days=1)))

    def filter_x(self, queryset, name, value):
        number = search_form(value)
        return queryset.filter(bind_num=number or value.strip())

    def filter_search(self, queryset, name, value):
        """Last of the filters: the UNION it returns can only be ordered and sliced after it."""
        text = value.strip()
        if not text:
            return queryset
        number = search_form(text)
        first = rows_needed(self.request)
        if number is not None:
            return match_any(queryset, NUMBER_COLUMNS, number, first=first)
        return match_any(queryset, ID_COLUMNS, text, first=first)


class StatementFilterSet(django_filters.FilterSet):
    application = django_filters.ModelChoiceFilter(
        label=_("Application"), queryset=Application.objects.order_by("name")
    )
    year = django_filters.NumberFilter(label=_("Year"), field_name="month", lookup_expr="year")
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=Statement._meta.get_field("state").choices
    )

    class Meta:
        model = Statement
        fields = ()
