"""The calls list's filter widgets write exactly what Django's templates render."""

from __future__ import annotations

from unittest import mock

import pytest
from django import forms
from django.utils.safestring import mark_safe

from billing import widgets
from billing.filters import CallRecordFilterSet
from billing.models import CallRecord
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.embedded]

CHOICES = [
    ("", "---------"),
    ("a&b", 'A <"quoted"> & more'),
    (3, "three"),
    ("safe", mark_safe("<b>bold</b>")),
    ("Group", [("g1", "one"), ("g2", "two")]),
]


def django_render(widget, name, value, attrs=None):
    """The same widget rendered by Django's templates (the method the mixin replaces)."""
    context = widget.get_context(name, value, attrs)
    return forms.Widget._render(widget, widget.template_name, context)


@pytest.mark.parametrize(
    "value", [None, "", "a&b", 'x" onfocus="y', "<script>", 3, "g2", ["a&b", "g1"]]
)
@pytest.mark.parametrize(
    "widget",
    [
        widgets.TextInput(),
        widgets.TextInput(attrs={"placeholder": "a<b", "required": True, "disabled": False}),
        widgets.DateInput(format="%Y-%m-%d"),
        widgets.Select(choices=CHOICES),
        widgets.Select(choices=CHOICES, attrs={"data-autosubmit": True, "class": "x&y"}),
    ],
)
def test_each_widget_writes_what_django_renders(widget, value):
    attrs = {"id": "id_field", "aria-describedby": "id_field_helptext"}
    assert widget.render("field", value, attrs) == django_render(widget, "field", value, attrs)


def test_the_calls_filters_render_as_with_django_widgets(rf):
    first = ApplicationFactory(name="B & <b>")
    ApplicationFactory(name="A")
    data = {
        "since": "2026-03-01",
        "until": "not a date",
        "application": str(first.pk),
        "x": '"><script>',
        "outcome": "callee",
        "q": "+86 138 0000 0001",
    }
    for query in ({}, data):
        filterset = CallRecordFilterSet(
            query, queryset=CallRecord.objects.all(), request=rf.get("/")
        )
        fields = list(filterset.form)
        assert all(isinstance(f.field.widget, widgets.LeanRendering) for f in fields)
        lean = [str(field) for field in fields]
        with mock.patch.object(widgets.LeanRendering, "_render", forms.Widget._render):
            assert lean == [str(field) for field in fields]


def test_the_application_choices_are_those_django_reads_with_a_cursor(rf):
    import django_filters

    ApplicationFactory(name="B")
    ApplicationFactory(name="A")
    filterset = CallRecordFilterSet({}, queryset=CallRecord.objects.all(), request=rf.get("/"))
    field = filterset.form.fields["application"]
    ours = [(str(value), str(label)) for value, label in widgets.ChoicesInOneQuery(field)]
    django = django_filters.fields.ModelChoiceIterator(field)
    assert ours == [(str(value), str(label)) for value, label in django]
    assert [label for _, label in ours][1:] == ["A (AXB)", "B (AXB)"]
