"""Typed numbers normalise to E.164; bad ones get a message that says what is wrong."""

from __future__ import annotations

import pytest
from django.utils import translation

from console.numbers import InvalidNumber, mask, mask_text, mask_url, normalize, search_form


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0000 0001", "+8613800000001"),
        ("+86-138-0000-0001", "+8613800000001"),
        ("8613800000001", "+8613800000001"),
        ("  13800000001 ", "+8613800000001"),
        ("0755-2800 0001", "+8675528000001"),
        ("(0755)28000001", "+8675528000001"),
        ("010-12345678", "+861012345678"),
        ("+8617000000001", "+8617000000001"),
    ],
)
def test_it_normalises_what_people_type(typed, stored):
    assert normalize(typed) == stored


@pytest.mark.parametrize(
    ("typed", "code", "words"),
    [
        ("", "empty", "Enter a phone number"),
        ("hello", "unparsable", "is not a phone number"),
        ("+1 650 253 0000", "not_mainland", "not a mainland China number"),
        ("1380000000", "invalid", "check its length"),
        ("400 800 1234", "service_number", "service number"),
    ],
)
def test_it_refuses_what_is_not_a_mainland_subscriber_number(typed, code, words):
    with pytest.raises(InvalidNumber) as caught:
        normalize(typed)
    assert caught.value.code == code
    with translation.override("en"):
        assert words in str(caught.value.messages[0])


def test_the_refusal_speaks_chinese_by_default():
    with pytest.raises(InvalidNumber) as caught:
        normalize("400 800 1234")
    assert "服务号码" in str(caught.value.messages[0])


def test_masking_keeps_the_prefix_and_the_last_four_digits():
    assert mask("+8613800000001") == "+86138****0001"
    assert mask("+8675528000001") == "+86755****0001"
    assert mask("") == ""


@pytest.mark.parametrize(
    ("arrived", "shown"),
    [
        # E.164, as stored
        ("+8613812345678", "+86138****5678"),
        # a national mobile as the platform may push it: four digits hidden, not three
        ("13812345678", "138****5678"),
        ("8613812345678", "86138****5678"),
        ("138 1234 5678", "138****5678"),
        # fixed lines keep their area code, with or without the trunk 0 or +86
        ("075528000001", "0755****0001"),
        ("0755-2800 0001", "0755****0001"),
        ("+861012345678", "+8610****5678"),
        ("010-12345678", "010****5678"),
        # foreign numbers: never fewer than four digits hidden
        ("+442079460018", "+4420****0018"),
        ("+85291234567", "+852****4567"),
        ("+16502530000", "+165****0000"),
    ],
)
def test_every_form_a_number_arrives_in_is_masked_the_same_way(arrived, shown):
    assert mask(arrived) == shown


@pytest.mark.parametrize(
    "number",
    ["+8613812345678", "13812345678", "075528000001", "+861012345678", "+85291234567", "12345"],
)
def test_masking_always_hides_at_least_four_digits(number):
    digits = [c for c in number if c.isdigit()]
    assert sum(c.isdigit() for c in mask(number)) <= len(digits) - 4


def test_what_is_no_number_is_left_alone_and_garbage_keeps_three_characters():
    assert mask("anonymous") == "anonymous"
    assert mask("+86 138 abc!") == "+86****"


def test_numbers_in_texts_and_urls_are_masked():
    assert mask_text("A +8613812345678 B 13912345678 C 075528000001, code 1012010") == (
        "A +86138****5678 B 139****5678 C 0755****0001, code 1012010"
    )
    assert mask_url("GET /calls/?q=%2B8613812345678&page=2 HTTP/1.1") == (
        "GET /calls/?q=+86138****5678&page=2 HTTP/1.1"
    )
    assert mask_url("/?q=138+1234+5678") == "/?q=138****5678"
    assert mask_url("/calls/?q=ORDER-1") == "/calls/?q=ORDER-1"


def test_search_form_normalises_complete_numbers_only():
    assert search_form("138-0000-0001") == "+8613800000001"
    assert search_form("0001") is None
    assert search_form("ORDER-123") is None


def test_the_mainland_mobile_shortcut_masks_as_libphonenumber_does():
    """``mask`` skips libphonenumber for ``+861[3-9]…``: for every four-digit network prefix and
    a few subscriber parts it must give what parsing gives (a new metadata release may not)."""
    from console.numbers import _mask_parsed

    for prefix in range(1300, 2000):
        for rest in ("0000000", "9999999", "5550123", "1000001"):
            number = f"+86{prefix}{rest}"
            assert mask(number) == _mask_parsed(number), number
    # anything else still goes through libphonenumber
    assert mask(" +8613812345678 ") == "+86138****5678"
    assert mask("+86138123456789") == _mask_parsed("+86138123456789")
    assert mask("+8612812345678") == _mask_parsed("+8612812345678")
