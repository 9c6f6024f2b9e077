"""Phone numbers as people type them, as the platform wants them, and as staff may see them.

Stored: E.164 (``+8613800000001``, ``+8675528000001``), the platform's global format (spec §1.2).
Typed: anything a person or a spreadsheet produces (``138 0000 0001``, ``+86-138-0000-0001``,
``0755-2800 0001``, ``8613800000001``) is normalised with Google's libphonenumber metadata.
Shown: masked (``+86138****0001``) unless the viewer's role allows the full number.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Mainland subscriber numbers the platform accepts as A/B: mobiles and fixed lines. Service numbers
# (400, 95xxx, toll-free, premium) are refused by the platform, so they are refused here too.
ACCEPTED_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
_SEARCHABLE = re.compile(r"[^\d+*]")


class InvalidNumber(ValidationError):
    """A typed number that is not a valid mainland China mobile or fixed-line number."""


def normalize(text: str) -> str:
    """E.164 form of a typed mainland number; :class:`InvalidNumber` says what is wrong."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidNumber(_("Enter a phone number."), code="empty")
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidNumber(
            _("“%(number)s” is not a phone number."), code="unparsable", params={"number": raw}
        ) from None
    if phonenumbers.region_code_for_number(parsed) != "CN":
        raise InvalidNumber(
            _("“%(number)s” is not a mainland China number (the platform serves mainland only)."),
            code="not_mainland",
            params={"number": raw},
        )
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(
            _(
                "“%(number)s” is not a valid mainland mobile or fixed-line number "
                "(check its length)."
            ),
            code="invalid",
            params={"number": raw},
        )
    if phonenumbers.number_type(parsed) not in ACCEPTED_TYPES:
        raise InvalidNumber(
            _("“%(number)s” is a service number (400/95/toll-free); use a subscriber number."),
            code="service_number",
            params={"number": raw},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """True for a mobile number (X numbers and callers of X must be mobiles or fixed lines)."""
    return phonenumbers.number_type(phonenumbers.parse(e164)) in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }


def search_form(text: str) -> str | None:
    """The stored form to look for when someone searches by a typed number.

    A complete number is normalised to E.164 for an exact (indexed) match; anything else gives
    None, and callers fall back to their non-number search.
    """
    cleaned = _SEARCHABLE.sub("", text or "")
    if len(cleaned.lstrip("+")) < 7:
        return None
    try:
        return normalize(text)
    except InvalidNumber:
        return None


_NUMBER_IN_TEXT = re.compile(r"(?<![\d*])\+?(?:86)?1\d{10}(?!\d)|(?<![\d*])\+86\d{9,11}(?!\d)")


def mask_text(text: str | None) -> str:
    """``text`` with every phone number masked (platform texts name the numbers they refuse)."""
    if not text:
        return ""

    def hide(match: re.Match[str]) -> str:
        found = match.group()
        return mask(found if found.startswith("+") else "+86" + found.removeprefix("86"))

    return _NUMBER_IN_TEXT.sub(hide, text)


def mask(e164: str | None) -> str:
    """``+86138****0001``: country code and three digits, four stars, the last four digits."""
    if not e164:
        return ""
    if len(e164) <= 9:
        return e164[:3] + "****"
    return f"{e164[:6]}****{e164[-4:]}"
