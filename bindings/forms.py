"""Forms of bindings: one create form per mode, the modify form, the temporary callee, uploads.

The create forms show only the fields of their mode and check each field as the platform would
(lengths, ranges, combinations); the capacity rules are checked by ``services.create_binding``.
The same classes parse the rows of a bulk CSV, whose columns are the forms' field names.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from bindings.choices import AreaMatchMode, CallDirection, call_direction_choices
from bindings.cities import city
from bindings.models import XNumber
from console.choices import Mode
from console.models import Application
from console.numbers import InvalidNumber, normalize
from privatenumber.schemas import UserData

MAX_DURATION_SECONDS = 7776000  # 90 days (spec §5.1.1)
MAX_LIFETIME_MINUTES = MAX_DURATION_SECONDS // 60
_USER_DATA = TypeAdapter(UserData)


class PhoneNumberField(forms.CharField):
    """A real number typed in any form (``138 0000 0001``, ``0755-2800 0001``), stored E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")
        self.widget.attrs.setdefault("inputmode", "tel")

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            return normalize(value)
        except InvalidNumber as error:
            raise ValidationError(error.messages, code=error.code) from None


class TextFriendlyCheckbox(forms.CheckboxInput):
    """A checkbox that hands text values (from a CSV row) to the field as they are."""

    def value_from_datadict(self, data, files, name):
        if name not in data:
            return False  # an unticked box sends nothing
        value = data.get(name)
        return value if isinstance(value, str) else bool(value)


class OptionalBooleanField(forms.BooleanField):
    """A checkbox in the page; in a CSV, "true/false/1/0/yes/no/是/否" (empty = the default)."""

    widget = TextFriendlyCheckbox

    def __init__(self, *, default: bool, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("initial", default)
        super().__init__(**kwargs)
        self.default = default

    def to_python(self, value: Any) -> bool:
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "":
                return self.default
            if text in ("true", "1", "yes", "y", "on", "是"):
                return True
            if text in ("false", "0", "no", "n", "off", "否"):
                return False
        return super().to_python(value)


class LifetimeField(forms.IntegerField):
    """A lifetime typed in minutes, the one unit of every mode's forms; cleaned to seconds.

    The platform takes seconds (AXB, AX, AXYB) or minutes (AXE) and the model keeps seconds;
    people type minutes everywhere and read the result as "2 hours" (``console.durations``).
    Given the model's seconds as initial value (the change page), it shows them as minutes.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Lifetime (minutes)"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_LIFETIME_MINUTES)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        minutes = super().clean(value)
        return None if minutes is None else minutes * 60

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value // 60  # the model's seconds
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            minutes = self.to_python(data)
        except ValidationError:
            return True
        return (initial or 0) != (minutes or 0) * 60


def _tone_field(label) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=128)


class BindingCreateForm(forms.Form):
    """Fields shared by the modes; subclasses list their own in ``field_order``."""

    mode: str = ""

    a_number = PhoneNumberField(label=_("A number"))
    area_code = forms.CharField(
        label=_("City"),
        required=False,
        max_length=8,
        help_text=_("X is chosen from the pool of this city; empty: any city."),
    )
    area_match_mode = forms.ChoiceField(
        label=_("City matching"),
        choices=AreaMatchMode.choices,
        initial=AreaMatchMode.STRICT,
        required=False,
    )
    order_ref = forms.CharField(label=_("Order reference"), max_length=64, required=False)
    cost_tag = forms.CharField(
        label=_("Cost tag"),
        max_length=64,
        required=False,
        help_text=_("Groups this binding's calls in the cost allocation (e.g. a business line)."),
    )
    record_flag = OptionalBooleanField(label=_("Record calls"), default=False)
    record_hint_tone = _tone_field(_("Recording notice tone"))
    user_data = forms.CharField(
        label=_("User data"),
        max_length=256,
        required=False,
        help_text=_("Echoed in call events and CDRs; no { } and no Chinese characters."),
    )

    def __init__(
        self,
        *args: Any,
        application: Application | None = None,
        city_choices: bool = True,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.application = application
        if application is not None and city_choices:
            codes = (
                XNumber.objects.filter(application=application)
                .order_by("city_code")
                .values_list("city_code", flat=True)
                .distinct()
            )
            choices = [("", _("Any city"))]
            language = get_language() or ""
            for code in codes:
                found = city(code)
                choices.append((code, found.label(language) if found else code))
            self.fields["area_code"].widget = forms.Select(choices=choices)

    def clean_area_code(self) -> str:
        code = (self.cleaned_data.get("area_code") or "").strip()
        if code and city(code) is None:
            raise ValidationError(
                _("“%(code)s” is not a mainland city code (like 0755 or 010)."),
                code="unknown_city",
                params={"code": code},
            )
        return code

    def clean_area_match_mode(self) -> str:
        return self.cleaned_data.get("area_match_mode") or AreaMatchMode.STRICT

    def clean_user_data(self) -> str:
        value = self.cleaned_data.get("user_data") or ""
        if value:
            try:
                _USER_DATA.validate_python(value)
            except PydanticValidationError:
                raise ValidationError(
                    _("User data may not contain { } or Chinese characters (Base64-encode them)."),
                    code="user_data",
                ) from None
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The services speak the model's names (seconds); the forms, the minutes people type.
        if "lifetime" in cleaned:
            cleaned["duration"] = cleaned.pop("lifetime")
        if "yb_lifetime" in cleaned:
            cleaned["yb_duration"] = cleaned.pop("yb_lifetime")
        if cleaned.get("record_hint_tone") and not cleaned.get("record_flag"):
            self.add_error("record_hint_tone", _("A recording notice needs recording switched on."))
        if cleaned.get("last_min_voice") and not cleaned.get("max_duration"):
            self.add_error("last_min_voice", _("A last-minute tone needs a maximum call length."))
        a, b = cleaned.get("a_number"), cleaned.get("b_number")
        if a and b and a == b:
            self.add_error("b_number", _("A and B must be two different numbers."))
        return cleaned


def _call_direction_field(mode: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=_("Call direction"),
        choices=call_direction_choices(mode),
        coerce=int,
        initial=CallDirection.BOTH,
        required=False,
        empty_value=CallDirection.BOTH,
    )


class _CallFields(forms.Form):
    call_direction = _call_direction_field(Mode.AXB)
    max_duration = forms.IntegerField(
        label=_("Maximum call length (minutes)"),
        required=False,
        min_value=0,
        max_value=1440,
        help_text=_("0 or empty: no limit."),
    )
    last_min_voice = _tone_field(_("Last-minute tone"))
    private_sms = OptionalBooleanField(label=_("Private SMS"), default=True)
    caller_hint_tone = _tone_field(_("Waiting tone for A"))
    callee_hint_tone = _tone_field(_("Waiting tone for B"))

    def clean_max_duration(self) -> int:
        return self.cleaned_data.get("max_duration") or 0


class AxbBindingForm(BindingCreateForm, _CallFields):
    """AXB: A and B talk through X."""

    mode = Mode.AXB
    b_number = PhoneNumberField(label=_("B number"))
    lifetime = LifetimeField(
        help_text=_("The platform unbinds it after this long; empty or 0: never (at most 90 days).")
    )
    field_order = [
        "a_number",
        "b_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "order_ref",
        "call_direction",
        "max_duration",
        "last_min_voice",
        "record_flag",
        "record_hint_tone",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ]


class AxBindingForm(BindingCreateForm, _CallFields):
    """AX: A owns X; A reaches others through a temporary callee."""

    mode = Mode.AX
    lifetime = LifetimeField(
        help_text=_(
            "AX bindings never expire on the platform: the console unbinds it after this long."
        )
    )
    # AX has no B: A owns X, others call A through it, A calls out through it.
    call_direction = _call_direction_field(Mode.AX)
    callee_hint_tone = _tone_field(_("Waiting tone for callers of X"))
    field_order = [
        "a_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "order_ref",
        "call_direction",
        "max_duration",
        "last_min_voice",
        "record_flag",
        "record_hint_tone",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ]


class AxeBindingForm(BindingCreateForm):
    """AXE: A gets an extension E on a shared X."""

    mode = Mode.AXE
    lifetime = LifetimeField(help_text=_("The platform unbinds it after this long; empty: never."))
    callback_expired_time = forms.IntegerField(
        label=_("Callback record lifetime (minutes)"), required=False, min_value=1
    )
    display_num_mode = forms.ChoiceField(
        label=_("What A sees when called"),
        choices=[("0", _("The X number")), ("1", _("The real caller"))],
        initial="0",
        required=False,
        help_text=_("Carriers require the X number; calls showing the real caller are blocked."),
    )
    callback_num = PhoneNumberField(label=_("Callback number"), required=False)
    callback_tone = _tone_field(_("Callback tone"))
    field_order = [
        "a_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "order_ref",
        "display_num_mode",
        "callback_num",
        "callback_tone",
        "callback_expired_time",
        "record_flag",
        "record_hint_tone",
        "user_data",
    ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("callback_num") and cleaned.get("callback_tone"):
            self.add_error(
                "callback_tone", _("Give a callback number or a callback tone, not both.")
            )
        return cleaned


class AxybBindingForm(BindingCreateForm):
    """AXYB: A bound to X and B bound to Y; A dials Y to reach B, B dials X to reach A."""

    mode = Mode.AXYB
    b_number = PhoneNumberField(label=_("B number"))
    lifetime = LifetimeField(help_text=_("0 or empty: never; at most 90 days."))
    yb_lifetime = LifetimeField(
        label=_("Y–B lifetime (minutes)"),
        help_text=_("0 or empty: as long as the binding; at most 90 days."),
    )
    call_direction = _call_direction_field(Mode.AXYB)
    caller_hint_tone = _tone_field(_("Waiting tone for A (dialling Y)"))
    callee_hint_tone = _tone_field(_("Waiting tone for B (dialling X)"))
    field_order = [
        "a_number",
        "b_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "yb_lifetime",
        "order_ref",
        "call_direction",
        "record_flag",
        "record_hint_tone",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ]


CREATE_FORMS: dict[str, type[BindingCreateForm]] = {
    Mode.AXB: AxbBindingForm,
    Mode.AX: AxBindingForm,
    Mode.AXE: AxeBindingForm,
    Mode.AXYB: AxybBindingForm,
}


def form_for_mode(mode: str) -> type[BindingCreateForm]:
    return CREATE_FORMS[mode]


def bulk_columns(mode: str) -> list[str]:
    """The CSV columns a bulk upload of ``mode`` may have (the create form's fields)."""
    form = CREATE_FORMS[mode]()
    return list(form.fields)


def bulk_row_data(mode: str, row: dict[str, str]) -> dict[str, str]:
    """A CSV row as form data: trimmed, and a missing yes/no column means its default."""
    data = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
    for name, field in CREATE_FORMS[mode].base_fields.items():
        if isinstance(field, OptionalBooleanField):
            data.setdefault(name, "")
    return data


class ApplicationChoiceForm(forms.Form):
    """Pick the application (and so the mode) of a new binding or a bulk upload."""

    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.filter(is_active=True).exclude(mode=Mode.X),
        empty_label=None,
    )


class BulkCreateForm(ApplicationChoiceForm):
    """A CSV whose columns are the create form's field names; one binding per row."""

    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8 (with or without BOM), first row: column names.")
    )

    def clean_file(self) -> str:
        from bindings import uploads

        upload = self.cleaned_data["file"]
        try:
            uploads.check_size(upload.size, uploads.Limits.bulk_bind())  # before reading it
            return uploads.decode_text(upload.read())
        except uploads.UploadRefused as refusal:
            raise ValidationError(refusal.message, code="upload") from None


class TemporaryCalleeForm(forms.Form):
    """AX: whom A reaches by dialling X, and for how long."""

    callee = PhoneNumberField(label=_("Temporary callee"))
    duration = LifetimeField(
        label=_("For (minutes)"),
        min_value=1,
        max_value=259200 // 60,
        initial=1,
        help_text=_("1 minute to 3 days; the platform's default is 1 minute."),
    )


class BindingModifyForm(forms.ModelForm):
    """Administrators change an active binding; only the fields its mode can change are shown."""

    class Meta:
        from bindings.models import Binding

        model = Binding
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("record_hint_tone") and not cleaned.get("record_flag", True):
            self.add_error("record_hint_tone", _("A recording notice needs recording switched on."))
        if cleaned.get("last_min_voice") and not cleaned.get("max_duration", 1):
            self.add_error("last_min_voice", _("A last-minute tone needs a maximum call length."))
        if cleaned.get("callback_num") and cleaned.get("callback_tone"):
            self.add_error(
                "callback_tone", _("Give a callback number or a callback tone, not both.")
            )
        if cleaned.get("user_data"):
            try:
                _USER_DATA.validate_python(cleaned["user_data"])
            except PydanticValidationError:
                self.add_error(
                    "user_data",
                    _("User data may not contain { } or Chinese characters (Base64-encode them)."),
                )
        return cleaned
