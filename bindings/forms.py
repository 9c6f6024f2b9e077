"""Forms of bindings: one create form per mode, the modify form, the temporary callee, uploads.

The create form of a mode (:func:`form_for_mode`) is built from its entry in the mode table
(:mod:`bindings.modes`): its fields in order, with the labels and help texts the mode gives them.
It shows only the fields of its mode and checks each field as the platform would (lengths, ranges,
combinations); the capacity rules are checked by ``services.create_binding``. The same classes
parse the rows of a bulk CSV, whose columns are the forms' field names.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from bindings import modes
from bindings.choices import AreaMatchMode, CallDirection
from bindings.cities import city
from bindings.models import XNumber
from bindings.modes import BindingMode
from bindings.services.number_import import IMPORT_FORMATS  # the import form's choices, in order
from bindings.services.safeguards import TONE_PURPOSES, approved_files
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
    """Fields shared by the modes, and their checks; :func:`form_for_mode` builds each mode's."""

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
        if application is not None and city_choices:  # a page's form, not a bulk CSV row
            self.offer_tone_files(application)

    def offer_tone_files(self, application: Application) -> None:
        """Each tone field offers the approved files of its purpose (the catalog); whatever is
        typed instead is refused by ``create_binding``, naming the file."""
        for name, purpose in TONE_PURPOSES.items():
            if name in self.fields:
                names = list(approved_files(application, purpose).values_list("name", flat=True))
                empty = _("The application's default") if names else _("None")
                self.fields[name].widget = forms.Select(
                    choices=[("", empty)] + [(n, n) for n in names]
                )

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
        if cleaned.get("callback_num") and cleaned.get("callback_tone"):
            self.add_error(
                "callback_tone", _("Give a callback number or a callback tone, not both.")
            )
        return cleaned


def _call_direction_field(mode: BindingMode) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=_("Call direction"),
        choices=mode.call_directions,
        coerce=int,
        initial=CallDirection.BOTH,
        required=False,
        empty_value=CallDirection.BOTH,
    )


class _CallLengthField(forms.IntegerField):
    def clean(self, value: Any) -> int:
        return super().clean(value) or 0


# The fields a mode's form may have beyond the shared ones, each built for its mode (the labels
# and help texts the mode table gives it replace these).
MODE_FIELDS: dict[str, Callable[[BindingMode], forms.Field]] = {
    "b_number": lambda mode: PhoneNumberField(label=_("B number")),
    "lifetime": lambda mode: LifetimeField(),
    "yb_lifetime": lambda mode: LifetimeField(label=_("Y–B lifetime (minutes)")),
    "call_direction": _call_direction_field,
    "max_duration": lambda mode: _CallLengthField(
        label=_("Maximum call length (minutes)"),
        required=False,
        min_value=0,
        max_value=1440,
        help_text=_("0 or empty: no limit."),
    ),
    "last_min_voice": lambda mode: _tone_field(_("Last-minute tone")),
    "private_sms": lambda mode: OptionalBooleanField(label=_("Private SMS"), default=True),
    "caller_hint_tone": lambda mode: _tone_field(_("Waiting tone for A")),
    "callee_hint_tone": lambda mode: _tone_field(_("Waiting tone for B")),
    "callback_expired_time": lambda mode: forms.IntegerField(
        label=_("Callback record lifetime (minutes)"), required=False, min_value=1
    ),
    "display_num_mode": lambda mode: forms.ChoiceField(
        label=_("What A sees when called"),
        choices=[("0", _("The X number")), ("1", _("The real caller"))],
        initial="0",
        required=False,
        help_text=_("Carriers require the X number; calls showing the real caller are blocked."),
    ),
    "callback_num": lambda mode: PhoneNumberField(label=_("Callback number"), required=False),
    "callback_tone": lambda mode: _tone_field(_("Callback tone")),
}


@functools.cache
def form_for_mode(name: str) -> type[BindingCreateForm]:
    """The create form of a mode: the fields of its entry in the mode table, in its order, with
    its labels and help texts. Built once per mode; a bulk CSV's rows go through it too."""
    mode = modes.of(name)
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"The create form of {mode.name} bindings (built from bindings.modes).",
        "mode": mode.name,
        "field_order": list(mode.fields),
    }
    for field_name in BindingCreateForm.base_fields:
        if field_name not in mode.fields:
            attrs[field_name] = None  # a shared field the mode does not have
    for field_name in mode.fields:
        if field_name in BindingCreateForm.base_fields:
            field = copy.deepcopy(BindingCreateForm.base_fields[field_name])
        else:
            field = MODE_FIELDS[field_name](mode)
        if field_name in mode.labels:
            field.label = mode.labels[field_name]
        if field_name in mode.help_texts:
            field.help_text = mode.help_texts[field_name]
        attrs[field_name] = field
    return type(f"{mode.name.capitalize()}BindingForm", (BindingCreateForm,), attrs)


def bulk_row_data(mode: str, row: dict[str, str]) -> dict[str, str]:
    """A CSV row as form data: trimmed, and a missing yes/no column means its default."""
    data = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
    for name, field in form_for_mode(mode).base_fields.items():
        if isinstance(field, OptionalBooleanField):
            data.setdefault(name, "")
    return data


class ApplicationChoiceForm(forms.Form):
    """Pick the application (and so the mode) of a new binding or a bulk upload."""

    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.filter(is_active=True, mode__in=modes.NAMES),
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


class XNumberImportForm(forms.Form):
    """The X-number import: the application, the file and its format (``IMPORT_FORMATS``, posted
    by position: 0 is CSV)."""

    application = forms.ModelChoiceField(
        label=_("Application"), queryset=Application.objects.filter(mode__in=modes.NAMES)
    )
    format = forms.TypedChoiceField(
        label=_("Format"), choices=list(enumerate(IMPORT_FORMATS)), coerce=int
    )
    import_file = forms.FileField(label=_("File to import"))

    def file_format(self) -> str:
        """The chosen format's file extension (``csv`` or ``xlsx``)."""
        return IMPORT_FORMATS[self.cleaned_data["format"]]


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
