"""Filters of the bindings pages (django-filter), and the one search of bindings.

Every filter maps to an index. The search box takes a number typed any way (``138 0000 0001``,
``+86-138…``, ``0755-2800 0001``), normalised once (``console.numbers.search_form``) and matched
exactly on each number column, each indexed; anything else is an order reference or a
subscriptionId, matched exactly too. A fragment of a number finds nothing: no table scan, and no
way to learn a hidden digit (``console.privacy``).
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from bindings import modes
from bindings.choices import BindingStatus, NumberImportState, NumberState, PlatformNumberStatus
from bindings.models import Binding, NumberImport, Reconciliation, XNumber
from console.models import Application
from console.numbers import search_form

# A binding's numbers, each indexed (binding_a, binding_b, binding_x, binding_y_number).
NUMBER_COLUMNS = ("a_number", "b_number", "x_number", "y_number")


def _any_of(queryset: QuerySet, columns: tuple[str, ...], value: str) -> QuerySet:
    condition = Q()
    for column in columns:
        condition |= Q(**{column: value})
    return queryset.filter(condition)


def search_bindings(queryset: QuerySet[Binding], term: str) -> QuerySet[Binding]:
    """Bindings with this number on any side (typed any way), order reference or subscriptionId."""
    term = (term or "").strip()
    if not term:
        return queryset
    number = search_form(term)
    if number is not None:
        return _any_of(queryset, NUMBER_COLUMNS, number)
    return queryset.filter(Q(order_ref=term) | Q(subscription_id=term))


def search_numbers(queryset: QuerySet[XNumber], term: str) -> QuerySet[XNumber]:
    """X numbers by a number typed any way, or by a city code."""
    term = (term or "").strip()
    if not term:
        return queryset
    number = search_form(term)
    if number is not None:
        return queryset.filter(number=number)
    return queryset.filter(city_code=term)


def _applications(request=None):
    return Application.objects.order_by("name")


def _binding_applications(request=None):
    return Application.objects.filter(mode__in=modes.NAMES).order_by("name")


class BindingFilterSet(django_filters.FilterSet):
    """Status, mode, application and the search box."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        help_text=_(
            "A, B, X or Y number in any form (138 0000 0001, +86-138…, 0755-2800 0001), "
            "an order reference or a subscriptionId."
        ),
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=BindingStatus.choices)
    mode = django_filters.ChoiceFilter(
        label=_("Mode"), choices=[(name, name) for name in modes.NAMES]
    )
    application = django_filters.ModelChoiceFilter(
        label=_("Application"), queryset=_binding_applications
    )

    class Meta:
        model = Binding
        fields = ()

    def filter_search(self, queryset, name, value):
        return search_bindings(queryset, value)


class XNumberFilterSet(django_filters.FilterSet):
    """Application, pool state, platform status and the search box (a number or a city code)."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        help_text=_("A number in any form, or a city code."),
    )
    application = django_filters.ModelChoiceFilter(label=_("Application"), queryset=_applications)
    state = django_filters.ChoiceFilter(label=_("State"), choices=NumberState.choices)
    platform_status = django_filters.ChoiceFilter(
        label=_("Platform status"), choices=PlatformNumberStatus.choices
    )

    class Meta:
        model = XNumber
        fields = ()

    def filter_search(self, queryset, name, value):
        return search_numbers(queryset, value)


class NumberImportFilterSet(django_filters.FilterSet):
    application = django_filters.ModelChoiceFilter(label=_("Application"), queryset=_applications)
    state = django_filters.ChoiceFilter(label=_("Status"), choices=NumberImportState.choices)

    class Meta:
        model = NumberImport
        fields = ()


class ReconciliationFilterSet(django_filters.FilterSet):
    application = django_filters.ModelChoiceFilter(label=_("Application"), queryset=_applications)

    class Meta:
        model = Reconciliation
        fields = ()
