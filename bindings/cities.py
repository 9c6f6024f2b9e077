"""Mainland city (area) codes and their provinces, from libphonenumber's geocoding data.

X numbers are pooled by city code (``0755``, ``010``); loose matching (spec §5.1.1) needs the
province of each city. Google's libphonenumber, already used to normalise numbers, knows the place
of every fixed-line prefix, so the table is not maintained by hand: a city code is known when the
geocoder places a fixed-line number with that prefix in a named city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

# 010 and 02x have two digits after the 0; every other city code has three, starting with 3–9.
CITY_CODE_RE = re.compile(r"^0(?:10|2\d|[3-9]\d\d)$")


@dataclass(frozen=True)
class City:
    """A city code with its place, in Chinese and English; ``province`` is the English key."""

    code: str
    name_zh: str
    name_en: str
    province: str

    def label(self, language: str = "zh-hans") -> str:
        name = self.name_en if language.startswith("en") else self.name_zh
        return f"{name} ({self.code})"


@lru_cache(maxsize=1024)
def city(code: str) -> City | None:
    """The city of a code such as ``0755``, or None when it is not a known mainland city code."""
    code = (code or "").strip()
    if not CITY_CODE_RE.fullmatch(code):
        return None
    # Imported here, not at module level: the geocoder's data costs ~100 MB of memory in every
    # process that imports bindings (recording workers included), and only city lookups need it.
    from phonenumbers import geocoder

    # Any subscriber digits will do: the geocoder places a number by its longest known prefix.
    probe = phonenumbers.parse(f"+86{code[1:]}28000001")
    name_en = geocoder.description_for_valid_number(probe, "en")
    name_zh = geocoder.description_for_valid_number(probe, "zh")
    if not name_en or name_en == "China":
        return None
    province = name_en.rsplit(", ", 1)[-1]
    return City(code=code, name_zh=name_zh, name_en=name_en, province=province)


def province_of(code: str) -> str:
    """The province key of a city code, or "" for an unknown code."""
    found = city(code)
    return found.province if found else ""


def name_of(code: str) -> str:
    """The city's name in the active language ("深圳市" / "Shenzhen, Guangdong"), "" if unknown."""
    from django.utils import translation

    found = city(code)
    if found is None:
        return ""
    return found.name_en if (translation.get_language() or "").startswith("en") else found.name_zh
