"""Tests of privatenumber.errors: what a caller reads off a failure."""

from __future__ import annotations

import pickle

from privatenumber.errors import PlatformError, PlatformTransientError


def test_it_says_the_code_and_its_meaning() -> None:
    error = PlatformError("1012008", "Insufficient number.", http_status=403, interface="axb_bind")
    assert str(error) == (
        "Platform call axb_bind failed with 1012008 (HTTP 403): Insufficient free numbers"
        " – Insufficient number."
    )
    assert error.permanent
    assert not error.may_have_landed
    assert "宽松匹配" in error.action_zh


def test_it_does_not_repeat_a_description_equal_to_the_meaning() -> None:
    error = PlatformError("1016001", "The record does not exist.", http_status=403)
    assert str(error) == "Platform call failed with 1016001 (HTTP 403): The record does not exist."


def test_a_transient_error_is_never_permanent() -> None:
    error = PlatformTransientError("1010010", "flow control", http_status=403)
    assert isinstance(error, PlatformError)
    assert not error.permanent


def test_it_tells_when_the_request_may_have_landed() -> None:
    error = PlatformTransientError("TIMEOUT", "read timed out", may_have_landed=True)
    assert str(error).endswith("query before retrying.")
    assert error.meaning_zh == "平台未在超时时间内应答"


def test_it_explains_http_statuses_without_a_result_code() -> None:
    assert PlatformError("HTTP404", "", http_status=404).meaning_en == "Wrong base URL or URI"
    assert PlatformError("HTTP502", "", http_status=502).meaning_en == (
        "HTTP 502 without a result code"
    )


def test_unknown_codes_are_named() -> None:
    assert "Unknown result code 1099999" in str(PlatformError("1099999", ""))


def test_its_repr_shows_no_description() -> None:
    error = PlatformError("1010002", "Invalid request: calleeNum", interface="axb_bind")
    assert repr(error) == (
        "PlatformError(code='1010002', http_status=None, interface='axb_bind', "
        "may_have_landed=False)"
    )


def test_it_survives_pickling_with_every_attribute() -> None:
    error = PlatformTransientError(
        "TIMEOUT", "read timed out", http_status=None, interface="axb_bind", may_have_landed=True
    )
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(again) is PlatformTransientError
    assert (again.code, again.interface, again.may_have_landed, again.permanent) == (
        "TIMEOUT",
        "axb_bind",
        True,
        False,
    )
