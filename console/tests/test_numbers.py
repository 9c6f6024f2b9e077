"""Typed numbers normalise to E.164; bad ones get a message that says what is wrong."""

from __future__ import annotations

import pytest
from django.utils import translation

from console.numbers import InvalidNumber, mask, normalize, search_form


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


def test_search_form_normalises_complete_numbers_only():
    assert search_form("138-0000-0001") == "+8613800000001"
    assert search_form("0001") is None
    assert search_form("ORDER-123") is None
