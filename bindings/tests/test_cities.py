"""City codes and provinces come from libphonenumber's geocoding data."""

from __future__ import annotations

import pytest

from bindings.cities import city, province_of


@pytest.mark.parametrize(
    ("code", "province"),
    [("0755", "Guangdong"), ("020", "Guangdong"), ("010", "Beijing"), ("0571", "Zhejiang")],
)
def test_it_knows_the_province_of_a_city_code(code, province):
    assert province_of(code) == province


def test_it_names_a_city_in_chinese_and_english():
    shenzhen = city("0755")
    assert shenzhen is not None
    assert "深圳" in shenzhen.name_zh
    assert shenzhen.label("en") == "Shenzhen, Guangdong (0755)"


@pytest.mark.parametrize("code", ["", "755", "0100", "0123", "01", "abcd", "00755"])
def test_it_refuses_what_is_not_a_mainland_city_code(code):
    assert city(code) is None
    assert province_of(code) == ""
