"""The calls list's filter widgets, rendered in Python with the markup of Django's own templates.

Django renders every widget through the template engine: a ``<select>`` includes one template
per option and each of those an attribute template, so the calls list's six filters (fourteen
options for outcomes, one per application) cost about a tenth of the page's CPU. These widgets
keep Django's logic (values, attributes, choices: ``get_context``) and only write the markup of
``django/forms/widgets/{input,text,date,select,select_option,attrs}.html`` themselves, escaped as
the templates escape it. ``billing/tests/test_widgets.py`` renders both ways and compares.

The application filter's choices are read by one plain query (:class:`ChoicesInOneQuery`).
"""

from __future__ import annotations

import uuid

import django_filters
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.forms.models import ModelChoiceIteratorValue
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, SafeString
from django.utils.translation import get_language

INPUT_TEMPLATES = {"django/forms/widgets/text.html", "django/forms/widgets/date.html"}
SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def _variable(value) -> str:
    """``{{ value }}``: localized and escaped unless marked safe."""
    return conditional_escape(localize(value))


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``: as text, escaped unless marked safe."""
    text = "%s" % (str(value) if isinstance(value, tuple) else value)
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``."""
    return "".join(
        f" {_variable(name)}" + ("" if value is True else f'="{_formatted(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict) -> str:
    """``django/forms/widgets/input.html`` (``text.html`` and ``date.html`` include it)."""
    value = f' value="{_formatted(widget["value"])}"' if widget["value"] is not None else ""
    return (
        f'<input type="{_variable(widget["type"])}" name="{_variable(widget["name"])}"'
        f"{value}{_attrs(widget['attrs'])}>"
    )


def _select(widget: dict) -> str | None:
    """``django/forms/widgets/select.html`` with its options; None for an option template of
    another name (rendered by Django, then)."""
    parts = [f'<select name="{_variable(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_variable(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_variable(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class LeanRendering:
    """Mixin of a Django widget: its own templates' markup written without the template engine.

    The form renderer strips what a template renders; so does this.
    """

    def _render(self, template_name, context, renderer=None):
        widget = context["widget"]
        html = None
        if template_name in INPUT_TEMPLATES:
            html = _input(widget)
        elif template_name == SELECT_TEMPLATE:
            html = _select(widget)
        if html is None:
            return super()._render(template_name, context, renderer)
        # every value in it went through _variable, _formatted or _attrs, as in the templates
        return SafeString(html.strip())


class TextInput(LeanRendering, forms.TextInput):
    pass


class DateInput(LeanRendering, forms.DateInput):
    input_type = "date"


class Select(LeanRendering, forms.Select):
    pass


class ChoicesInOneQuery(django_filters.fields.ModelChoiceIterator):
    """The choices of a model filter, read by one plain query.

    Django reads them with ``QuerySet.iterator()``, which on PostgreSQL opens a server-side
    cursor: DECLARE, FETCH and CLOSE, three round trips for a handful of applications. Same
    choices, same order: the empty choice, django-filter's null choice if any, the rows.
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ApplicationChoices(ChoicesInOneQuery):
    """The application filter's choices, kept in the shared cache.

    Reading them (the query, an ``Application`` per row) was ~4 % of the calls list's CPU. The
    entry is per team scope (``console.teams.cache_suffix``) and language, under a generation
    that any application saved or deleted renews (:func:`applications_changed`), so a renamed,
    added or removed application shows on the next page. The values are the primary keys, as
    before; the choices carry no instance (the select widget never reads it).
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for pk, label in self._rows():
            yield (ModelChoiceIteratorValue(pk, None), label)

    def _rows(self) -> list[tuple[object, str]]:
        from console import teams

        if not settings.CACHE_SHARED:  # a per-process cache would not see another's changes
            return self._read()
        # One round trip: the generation and this scope's entry, which records the generation
        # it was read under.
        key = f"{CHOICES_GENERATION_KEY}:{get_language()}{teams.cache_suffix()}"
        found = cache.get_many([CHOICES_GENERATION_KEY, key])
        generation = found.get(CHOICES_GENERATION_KEY)
        if generation is None:
            cache.add(CHOICES_GENERATION_KEY, _new_generation(), None)
            generation = cache.get(CHOICES_GENERATION_KEY)
        entry = found.get(key)
        if entry is not None and entry[0] == generation:
            return entry[1]
        rows = self._read()
        cache.set(key, (generation, rows), CHOICES_SECONDS)
        return rows

    def _read(self) -> list[tuple[object, str]]:
        return [
            (self.field.prepare_value(obj), self.field.label_from_instance(obj))
            for obj in self.queryset
        ]


CHOICES_GENERATION_KEY = "billing:application-choices"
CHOICES_SECONDS = 3600


def _new_generation() -> str:
    return uuid.uuid4().hex


def renew_choices() -> None:
    """Every cached list of application choices stops counting."""
    cache.set(CHOICES_GENERATION_KEY, _new_generation(), None)


def applications_changed(**kwargs) -> None:
    """An application was saved or deleted: the cached choices go, now and at commit (a page
    between the two could have stored the rows before the change)."""
    renew_choices()
    transaction.on_commit(renew_choices)


def connect() -> None:
    """Called from ``BillingConfig.ready()``."""
    from django.db.models.signals import post_delete, post_save

    from console.models import Application

    post_save.connect(applications_changed, sender=Application, dispatch_uid="billing.choices.s")
    post_delete.connect(applications_changed, sender=Application, dispatch_uid="billing.choices.d")


class ModelChoiceField(django_filters.fields.ModelChoiceField):
    iterator = ChoicesInOneQuery


class ApplicationChoiceField(django_filters.fields.ModelChoiceField):
    iterator = ApplicationChoices


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """django-filter's model choice filter with :class:`ChoicesInOneQuery`."""

    field_class = ModelChoiceField


class ApplicationChoiceFilter(django_filters.ModelChoiceFilter):
    """The application filter, its choices from the cache (:class:`ApplicationChoices`)."""

    field_class = ApplicationChoiceField
