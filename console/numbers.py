"""Phone numbers as people type them, as the platform wants them, and as staff may see them.

Stored: E.164 (``+8613800000001``, ``+8675528000001``), the platform's global format (spec §1.2).
Typed: anything a person or a spreadsheet produces (``138 0000 0001``, ``+86-138-0000-0001``,
``0755-2800 0001``, ``8613800000001``) is normalised with Google's libphonenumber metadata.
Shown: masked (``+86138****0001``, ``138****0001``, ``0755****0001``) unless the viewer's role
allows the full number; who may see one, and where that is enforced, is ``console.privacy``.
Written to logs and error texts: masked too (:func:`mask_text`, :func:`mask_url`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote

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


HIDDEN = "****"
_DIGITS = re.compile(r"\D")
# A mainland mobile as stored (E.164): most numbers a page masks. libphonenumber gives every one
# of them the network code of three digits, so it is masked without parsing it (a list page masks
# a hundred, and parsing took a sixth of the calls list's CPU); ``test_numbers`` checks the
# shortcut against libphonenumber for every prefix.
_MAINLAND_MOBILE = re.compile(r"\+861[3-9]\d{9}")


def mask(number: str | None) -> str:
    """A real number with its subscriber part hidden, in the form it was given.

    Whatever form a number arrives in (E.164, national mobile, fixed line with its area code,
    foreign), libphonenumber finds its national significant number and the length of its area or
    network code. Shown: the prefix as given (``+86``, ``86``, the trunk ``0``), the area or network
    code, four stars, the last four digits: ``+86138****5678``, ``138****5678``,
    ``0755****0001``, ``+8610****5678``. At least four digits are always hidden, so a short
    number shows less of its head (``+852****4567``). Text without a digit is no number and is
    returned as it is (``anonymous``); digits that cannot be parsed keep only their first three.
    """
    if not number:
        return ""
    text = str(number).strip()
    if _MAINLAND_MOBILE.fullmatch(text):
        return f"{text[:6]}{HIDDEN}{text[-4:]}"
    return _mask_parsed(text)


def _mask_parsed(text: str) -> str:
    """:func:`mask` through libphonenumber: any form, any country."""
    digits = _DIGITS.sub("", text)
    if not digits:
        return text
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return text[:3] + HIDDEN
    national = phonenumbers.national_significant_number(parsed)
    if not national or not digits.endswith(national):
        return text[:3] + HIDDEN
    prefix = ("+" if text.startswith("+") else "") + digits[: len(digits) - len(national)]
    tail = min(4, max(0, len(national) - 4))
    head = min(
        phonenumbers.length_of_national_destination_code(parsed),
        max(0, len(national) - tail - 4),
    )
    return f"{prefix}{national[:head]}{HIDDEN}{national[len(national) - tail :] if tail else ''}"


# Numbers inside free text (platform error texts, log lines, typed searches): any E.164 number,
# a mainland mobile with or without 86, a mainland fixed line with its trunk 0. Seven-digit result
# codes and ids without a plus are left alone.
_NUMBER_IN_TEXT = re.compile(r"(?<![\d*])(?:\+\d{7,15}|(?:86)?1[3-9]\d{9}|0[1-9]\d{8,10})(?!\d)")
# A value that is nothing but a number as people type it (``138 0000 0001``, ``+86-138…``).
_TYPED_NUMBER = re.compile(r"^[\s+\-().\d]*$")


def mask_text(text: str | None) -> str:
    """``text`` with every phone number in it masked (platform texts name the numbers they
    refuse; log lines carry what people searched for)."""
    if not text:
        return ""
    return _NUMBER_IN_TEXT.sub(lambda found: mask(found.group()), text)


def mask_value(value: str) -> str:
    """One typed value (a search box, a query parameter) with any number in it masked."""
    if len(_DIGITS.sub("", value)) >= 7 and _TYPED_NUMBER.match(value):
        return mask(value)
    return mask_text(value)


def mask_query(query: str) -> str:
    """A query string with every number in its values masked, for logs (``q=%2B8613800000001``
    becomes ``q=+86138****0001``). Readable rather than re-encodable."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return mask_text(query)
    return "&".join(
        f"{quote(name, safe='[]_.-')}={quote(mask_value(value), safe='+*:/@,')}"
        for name, value in pairs
    )


def mask_url(url: str) -> str:
    """A URL, request target or request line (``GET /calls/?q=… HTTP/1.1``) with the numbers in
    its query string masked."""
    if not url or "?" not in url:
        return mask_text(url)
    head, _, rest = url.partition("?")
    query, space, tail = rest.partition(" ")  # a request line ends with " HTTP/1.1"
    fragment = ""
    if "#" in query:
        query, _, fragment = query.partition("#")
        fragment = "#" + fragment
    return f"{mask_text(head)}?{mask_query(query)}{fragment}{space}{tail}"
