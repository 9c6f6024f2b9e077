"""Forms of billing's console pages: the bill upload and the cost allocation's choices."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import reconcile
from billing.allocation import DIMENSIONS, Options
from billing.services import month_start
from console.models import Application


def last_month() -> str:
    return f"{month_start(month_start(timezone.now()) - timedelta(days=1)):%Y-%m}"


def parse_month(value: str) -> date:
    year, month = value.split("-")
    return date(int(year), int(month), 1)


class MonthField(forms.CharField):
    """A month as ``YYYY-MM`` (the browser's month picker), not after the current month."""

    widget = forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise forms.ValidationError(_("Enter a month as YYYY-MM."))
        month = parse_month(value)
        if month > month_start(timezone.now()):
            raise forms.ValidationError(_("That month has not begun yet."))
        return month


class BillUploadForm(forms.Form):
    """Huawei's bill export of a month, for one application or the whole account."""

    month = MonthField(label=_("Month"), initial=last_month)
    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.order_by("name"),
        required=False,
        empty_label=_("All applications (the account's bill)"),
    )
    bill = forms.FileField(
        label=_("Bill file (CSV or XLSX)"),
        help_text=_(
            "Fee centre › Bills › Bill details: usage type, details, export. At most %(mb)s MB."
        )
        % {"mb": settings.BILLING_BILL_MAX_BYTES // (1024 * 1024)},
    )

    def clean_bill(self):
        upload = self.cleaned_data["bill"]
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if extension not in reconcile.FORMATS:
            raise forms.ValidationError(_("Upload a CSV or an XLSX file."))
        return upload


class AllocationForm(forms.Form):
    """The month, the dimension, and how an order reference's prefix is read."""

    month = MonthField(label=_("Month"), initial=last_month, required=False)
    dimension = forms.ChoiceField(
        label=_("Break down by"),
        choices=lambda: [(name, d.label) for name, d in DIMENSIONS.items()],
        required=False,
    )
    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.order_by("name"),
        required=False,
        empty_label=_("All applications"),
    )
    prefix_length = forms.IntegerField(
        label=_("Prefix: first characters"), min_value=1, max_value=64, required=False
    )
    separator = forms.CharField(label=_("or up to"), max_length=4, required=False, strip=False)

    def choices(self) -> tuple[date, str, Application | None, Options]:
        """The page's choices, defaults where the form was not filled (or not valid)."""
        data = self.cleaned_data if self.is_valid() else {}
        default = Options.default()
        options = Options(
            prefix_length=data.get("prefix_length") or default.prefix_length,
            separator=data.get("separator", "") if "separator" in self.data else default.separator,
        )
        return (
            data.get("month") or parse_month(last_month()),
            data.get("dimension") or "application",
            data.get("application"),
            options,
        )
