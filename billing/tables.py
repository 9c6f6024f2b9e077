"""Tables of the calls list and the statements (django-tables2).

Real numbers are shown through the request's ``console.privacy.Numbers`` (masked unless an
allowed viewer asked for them, audited once per page); privacy numbers (X, the displayed number)
are not real numbers and are shown in full. Only indexed columns are orderable: any other sort
of millions of CDRs would read the whole table (and a sort by a real number would tell its
hidden digits).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import django_tables2 as tables
from django.conf import settings
from django.urls import reverse
from django.utils.formats import date_format, localize
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import get_current_timezone, localtime
from django.utils.translation import gettext_lazy as _

from billing.choices import CallDirection, CallOutcome
from billing.models import CallRecord, Statement
from billing.services import waits_for_tariff
from console.exports import COUNT, MONEY
from console.privacy import Numbers


class CallRecordTable(tables.Table):
    """One row per CDR, newest first: its columns, ordering and pagination. The rows of a page
    are rendered by :func:`call_rows`, not cell by cell."""

    started_at = tables.Column(verbose_name=_("Started"), order_by=("started_at", "id"))
    application = tables.Column(
        verbose_name=_("Application"), accessor="application__name", orderable=False
    )
    bind_num = tables.Column(verbose_name=_("X number"), orderable=False)
    caller_num = tables.Column(verbose_name=_("Caller"), orderable=False)
    fwd_dst_num = tables.Column(verbose_name=_("Forwarded to"), orderable=False)
    direction = tables.Column(verbose_name=_("Direction"), orderable=False)
    outcome = tables.Column(verbose_name=_("Outcome"), orderable=False)
    talk_seconds = tables.Column(verbose_name=_("Talk (s)"), orderable=False)
    billable_minutes = tables.Column(verbose_name=_("Minutes"), orderable=False)
    flags = tables.Column(verbose_name=_("Notes"), empty_values=(), orderable=False)

    class Meta:
        model = CallRecord
        fields = ()
        sequence = (
            "started_at",
            "application",
            "bind_num",
            "caller_num",
            "fwd_dst_num",
            "direction",
            "outcome",
            "talk_seconds",
            "billable_minutes",
            "flags",
        )
        order_by = ("-started_at",)
        attrs = {"class": "calls"}
        empty_text = _("No calls match.")

    def __init__(self, *args, numbers: Numbers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.numbers = numbers


def call_rows(records, *, numbers: Numbers) -> list[dict[str, str]]:
    """The page's rows as plain values, for ``billing/call_table.html``.

    ``records``: CallRecords, or the calls list's named tuples of ``CALL_LIST_COLUMNS``.

    django-tables2 renders each cell through ``render_*`` methods it introspects per call; for
    50 rows × 10 columns that was most of the page's time. The table still decides columns,
    ordering and pagination; this only renders the 50 rows of the current page.
    """
    # Labels translated once per page, not once per row (get_FOO_display rebuilds its map).
    outcomes = {value: str(label) for value, label in CallOutcome.choices}
    directions = {value: str(label) for value, label in CallDirection.choices}
    flags = (
        ("redial_duplicate", str(_("redial duplicate, not billed"))),
        ("no_binding", str(_("no binding"))),
        ("malformed_number", str(_("number not in +86 format"))),
    )
    prefix = reverse("billing:calls")
    # The reader's time zone looked up once, not per row (it is a context-local read each time).
    zone = get_current_timezone()
    rows = []
    for record in records:
        notes = [text for name, text in flags if getattr(record, name)]
        rows.append(
            {
                "url": f"{prefix}{record.application_id}/{quote(record.session_id, safe='@/')}/",
                "started": localtime(record.started_at, zone).strftime("%Y-%m-%d %H:%M:%S"),
                # the calls list reads named tuples (its view), the console page model instances
                "application": (
                    record.application__name
                    if isinstance(record, tuple)
                    else record.application.name
                ),
                "x": record.bind_num,
                "caller": numbers.show(record.caller_num),
                "forwarded_to": numbers.show(record.fwd_dst_num),
                "direction": directions.get(record.direction, record.direction),
                "outcome": outcomes.get(record.outcome, record.outcome),
                "failed": record.outcome != "answered",
                "talk": record.talk_seconds,
                "minutes": record.billable_minutes,
                "notes": ", ".join(notes) or "—",
            }
        )
    return rows


def call_rows_html(rows: list[dict[str, str]]) -> SafeString:
    """The ``<tbody>`` rows of :func:`call_rows`, as ``billing/call_table.html`` rendered them.

    The template's loop resolved and escaped 50 × 11 variables through the template engine, a
    third of the calls list's CPU; this joins the same markup with the same escaping (the
    standard library's ``html.escape``, which Django's ``escape`` wraps) and the numbers as the
    template localizes them. ``billing/tests/test_pages.py`` compares it with the template's loop.
    """
    number = localize if settings.USE_THOUSAND_SEPARATOR else str
    parts = []
    for row in rows:
        outcome = escape(str(row["outcome"]))
        if row["failed"]:
            outcome = f'<span class="call-failed">{outcome}</span>'
        parts.append(
            f'\n    <tr><td><a href="{escape(row["url"])}">{escape(row["started"])}</a></td>'
            f"<td>{escape(str(row['application']))}</td><td>{escape(str(row['x']))}</td>"
            f"<td>{escape(row['caller'])}</td><td>{escape(row['forwarded_to'])}</td>"
            f"<td>{escape(str(row['direction']))}</td><td>{outcome}</td>"
            f"<td>{escape(number(row['talk']))}</td><td>{escape(number(row['minutes']))}</td>"
            f"<td>{escape(row['notes'])}</td></tr>\n  "
        )
    return SafeString("".join(parts))


class StatementTable(tables.Table):
    """Monthly statements; exported to CSV and XLSX as they are shown."""

    month = tables.Column(verbose_name=_("Month"))
    application = tables.Column(verbose_name=_("Application"), accessor="application__name")
    state = tables.Column(verbose_name=_("State"))
    calls = tables.Column(verbose_name=_("Calls"))
    answered_calls = tables.Column(verbose_name=_("Answered"))
    minutes = tables.Column(verbose_name=_("Billable minutes"))
    package_minutes = tables.Column(verbose_name=_("Package minutes"))
    excess_minutes = tables.Column(verbose_name=_("Excess minutes"))
    call_charges = tables.Column(verbose_name=_("Call charges (CNY)"))
    x_numbers = tables.Column(verbose_name=_("X numbers"))
    number_rent = tables.Column(verbose_name=_("Number rent (CNY)"))
    total = tables.Column(verbose_name=_("Total (CNY)"))
    closed_at = tables.Column(verbose_name=_("Closed"))

    class Meta:
        model = Statement
        fields = ()
        sequence = (
            "month",
            "application",
            "state",
            "calls",
            "answered_calls",
            "minutes",
            "package_minutes",
            "excess_minutes",
            "call_charges",
            "x_numbers",
            "number_rent",
            "total",
            "closed_at",
        )
        order_by = ("-month",)
        empty_text = _("No statements yet.")

    def render_month(self, value, record):
        url = reverse("billing:statement", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, value.strftime("%Y-%m"))

    def value_month(self, value):
        return value.strftime("%Y-%m")

    def render_state(self, record):
        if waits_for_tariff(record):
            return format_html(
                '<span class="statement-no-tariff">{}</span>', _("Open: no tariff for this month")
            )
        return record.get_state_display()

    def value_state(self, record):
        if waits_for_tariff(record):
            return str(_("Open: no tariff for this month"))
        return record.get_state_display()

    def render_closed_at(self, value):
        return date_format(localtime(value), "Y-m-d H:i") if value else "—"

    def value_closed_at(self, value):
        return localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    # Exported as numbers with their format (console.exports), not as text.
    export_kinds = {
        "calls": COUNT,
        "answered_calls": COUNT,
        "minutes": COUNT,
        "package_minutes": COUNT,
        "excess_minutes": COUNT,
        "call_charges": MONEY,
        "x_numbers": COUNT,
        "number_rent": MONEY,
        "total": MONEY,
    }
