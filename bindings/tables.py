"""Tables of the bindings pages (django-tables2): bindings, X numbers, imports, reconciliations.

Real numbers (A, B) are always masked in a list (``console.numbers.mask``): a person allowed to
see one asks on the binding's page, one audited POST per number. X and Y are privacy numbers and
are shown in full. Only indexed columns are orderable (the primary key, a binding's status, a
number): any other sort of a big table would read all of it, and a sort by a real number would
tell its hidden digits.
"""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bindings import cities
from bindings.models import Binding, NumberImport, Reconciliation, XNumber
from console.numbers import mask


def _when(value) -> str:
    return date_format(localtime(value), "Y-m-d H:i") if value else "—"


class SelectColumn(tables.CheckBoxColumn):
    """A checkbox per row, to act on the rows chosen, and one in the header that ticks every row
    of the page (``bindings/static/bindings/select_all.js``): a page at a time, never the table."""

    @property
    def header(self):
        return format_html(
            '<input type="checkbox" class="select-all" aria-label="{}">',
            gettext("Select every row of this page"),
        )


class BindingTable(tables.Table):
    """One row per binding, newest first; the customer's numbers masked."""

    selected = SelectColumn(accessor="pk", attrs={"input": {"class": "row-select"}})
    id = tables.Column(verbose_name=_("ID"), order_by=("id",))
    mode = tables.Column(verbose_name=_("Mode"), orderable=False)
    status = tables.Column(verbose_name=_("Status"), order_by=("status", "-id"))
    a_number = tables.Column(verbose_name=_("A number"), orderable=False)
    b_number = tables.Column(verbose_name=_("B number"), orderable=False, empty_values=())
    x_number = tables.Column(verbose_name=_("X (E / Y)"), orderable=False, empty_values=())
    order_ref = tables.Column(verbose_name=_("Order reference"), orderable=False)
    application = tables.Column(
        verbose_name=_("Application"), accessor="application__name", orderable=False
    )
    created_at = tables.Column(verbose_name=_("Created"), orderable=False)
    expires_at = tables.Column(verbose_name=_("Expires"), orderable=False)

    class Meta:
        model = Binding
        fields = ()
        sequence = (
            "selected",
            "id",
            "mode",
            "status",
            "a_number",
            "b_number",
            "x_number",
            "order_ref",
            "application",
            "created_at",
            "expires_at",
        )
        order_by = ("-id",)
        attrs = {"class": "bindings"}
        empty_text = _("No binding matches.")

    def render_id(self, value):
        return format_html('<a href="{}">{}</a>', reverse("bindings:binding", args=[value]), value)

    def render_status(self, record):
        return format_html(
            '<span class="binding-status binding-status-{}">{}</span>',
            record.status,
            record.get_status_display(),
        )

    def render_a_number(self, value):
        return mask(value)

    def render_b_number(self, value):
        return mask(value) or "—"

    def render_x_number(self, record):
        """X, and under it the AXE extension or the AXYB Y: one column, so the list fits."""
        second = record.extension or record.y_number
        if not second:
            return record.x_number or "—"
        return format_html('{}<span class="list-second">{}</span>', record.x_number or "—", second)

    def render_created_at(self, value):
        return _when(value)

    def render_expires_at(self, value):
        return _when(value)


class XNumberTable(tables.Table):
    """The pool: numbers per application and city, their platform status and live counts."""

    selected = SelectColumn(accessor="pk", attrs={"input": {"class": "row-select"}})
    number = tables.Column(verbose_name=_("Number"), order_by=("number",))
    application = tables.Column(
        verbose_name=_("Application"), accessor="application__name", orderable=False
    )
    city = tables.Column(verbose_name=_("City"), accessor="city_code", orderable=False)
    state = tables.Column(verbose_name=_("State"), orderable=False)
    platform_status = tables.Column(verbose_name=_("Platform status"), orderable=False)
    platform_cause = tables.Column(verbose_name=_("Platform cause"), orderable=False)
    binding_count = tables.Column(verbose_name=_("Live bindings"), orderable=False)
    y_binding_count = tables.Column(verbose_name=_("Live relations as Y"), orderable=False)
    cooling_until = tables.Column(verbose_name=_("Cooling down until"), orderable=False)

    class Meta:
        model = XNumber
        fields = ()
        sequence = (
            "selected",
            "number",
            "application",
            "city",
            "state",
            "platform_status",
            "platform_cause",
            "binding_count",
            "y_binding_count",
            "cooling_until",
        )
        order_by = ("number",)
        attrs = {"class": "numbers"}
        empty_text = _("No X number matches.")

    def __init__(self, *args, edit_links: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.edit_links = edit_links

    def render_number(self, record):
        if not self.edit_links:
            return record.number
        url = reverse("admin:bindings_xnumber_change", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, record.number)

    def render_city(self, record):
        name = cities.name_of(record.city_code) or record.province
        return f"{name} ({record.city_code})" if name else record.city_code

    def render_state(self, record):
        return record.get_state_display()

    def render_platform_status(self, record):
        return record.get_platform_status_display()

    def render_cooling_until(self, value):
        return _when(value)


class NumberImportTable(tables.Table):
    """Every X-number import: who uploaded what, what was refused and imported."""

    id = tables.Column(verbose_name=_("Import"), order_by=("id",))
    created_at = tables.Column(verbose_name=_("Uploaded"), orderable=False)
    application = tables.Column(
        verbose_name=_("Application"), accessor="application__name", orderable=False
    )
    file_name = tables.Column(verbose_name=_("File"), orderable=False)
    state = tables.Column(verbose_name=_("Status"), orderable=False)
    total = tables.Column(verbose_name=_("Rows"), orderable=False)
    new_count = tables.Column(verbose_name=_("New numbers"), orderable=False)
    refused_count = tables.Column(verbose_name=_("Rows refused"), orderable=False)
    imported_count = tables.Column(verbose_name=_("Numbers imported"), orderable=False)
    created_by = tables.Column(verbose_name=_("Uploaded by"), orderable=False)
    confirmed_by = tables.Column(verbose_name=_("confirmed by"), orderable=False)

    class Meta:
        model = NumberImport
        fields = ()
        sequence = (
            "id",
            "created_at",
            "application",
            "file_name",
            "state",
            "total",
            "new_count",
            "refused_count",
            "imported_count",
            "created_by",
            "confirmed_by",
        )
        order_by = ("-id",)
        attrs = {"class": "imports"}
        empty_text = _("No import yet.")

    def render_id(self, value):
        url = reverse("bindings:import-job", args=[value])
        return format_html('<a href="{}">#{}</a>', url, value)

    def render_created_at(self, value):
        return _when(value)

    def render_state(self, record):
        return record.get_state_display()


class ReconciliationTable(tables.Table):
    """What each comparison with the platform found and repaired, newest first."""

    started_at = tables.Column(verbose_name=_("Started"), order_by=("started_at", "id"))
    application = tables.Column(
        verbose_name=_("Application"), accessor="application__name", orderable=False
    )
    numbers_checked = tables.Column(verbose_name=_("Numbers checked"), orderable=False)
    platform_bindings = tables.Column(verbose_name=_("On the platform"), orderable=False)
    matched = tables.Column(verbose_name=_("matched"), orderable=False)
    lost = tables.Column(verbose_name=_("lost (ended here)"), orderable=False)
    unknown = tables.Column(verbose_name=_("unknown (only on the platform)"), orderable=False)
    failures = tables.Column(verbose_name=_("numbers that could not be queried"), orderable=False)
    triggered_by = tables.Column(verbose_name=_("Started by"), orderable=False)
    finished_at = tables.Column(verbose_name=_("Finished"), orderable=False)

    class Meta:
        model = Reconciliation
        fields = ()
        sequence = (
            "started_at",
            "application",
            "numbers_checked",
            "platform_bindings",
            "matched",
            "lost",
            "unknown",
            "failures",
            "triggered_by",
            "finished_at",
        )
        order_by = ("-started_at",)
        attrs = {"class": "reconciliations"}
        empty_text = _("No reconciliation yet.")

    def render_started_at(self, record):
        url = reverse("bindings:reconciliation", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, _when(record.started_at))

    def render_finished_at(self, value):
        return _when(value)
