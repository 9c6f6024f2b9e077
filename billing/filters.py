"""Filters of the calls list and the statements (django-filter).

Every filter of the calls list maps to an index (see ``CallRecord.Meta.indexes``): dates to
``started_at``, application, X and outcome to their ``(…, started_at)`` indexes, and the search
box to exact matches of the number columns (a number typed any way is normalised with
``console.numbers.search_form``) or of the session id, record key and subscriptionId.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.choices import CallOutcome
from billing.models import CallRecord, Statement
from console.models import Application
from console.numbers import search_form

# Every column a party's number can be in, each indexed. calleeNum is left out: it is the number
# dialled, which is bindNum (spec §6.2), and an unindexed column would turn the search into a scan.
NUMBER_COLUMNS = ("caller_num", "bind_num", "fwd_display_num", "fwd_dst_num")


def local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def number_search(text: str) -> Q | None:
    """Exact match on every number column for a complete typed number, else None."""
    number = search_form(text)
    if number is None:
        return None
    query = Q()
    for column in NUMBER_COLUMNS:
        query |= Q(**{column: number})
    return query


class DateInput(forms.DateInput):
    input_type = "date"


class CallRecordFilterSet(django_filters.FilterSet):
    """Date range (local days), application, X, outcome and a search box."""

    since = django_filters.DateFilter(
        label=_("From"), method="filter_since", widget=DateInput(format="%Y-%m-%d")
    )
    until = django_filters.DateFilter(
        label=_("To"), method="filter_until", widget=DateInput(format="%Y-%m-%d")
    )
    application = django_filters.ModelChoiceFilter(
        label=_("Application"), queryset=Application.objects.order_by("name")
    )
    x = django_filters.CharFilter(label=_("X number"), method="filter_x")
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=CallOutcome.choices)
    q = django_filters.CharFilter(
        label=_("Number or id"),
        method="filter_search",
        help_text=_("Any number as typed, or a session id, icid or subscriptionId."),
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
        text = value.strip()
        if not text:
            return queryset
        numbers = number_search(text)
        if numbers is not None:
            return queryset.filter(numbers)
        return queryset.filter(Q(session_id=text) | Q(cdr_key=text) | Q(subscription_id=text))


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
