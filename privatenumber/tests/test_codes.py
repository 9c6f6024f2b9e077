"""Tests of privatenumber.codes: every row of the spec's tables is known, unknown codes are named.

The spec tables are parsed out of the contract markdown (a verbatim copy lives in the fixtures), so
a row added to the contract and forgotten here fails a test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from privatenumber import codes

SPEC = Path(__file__).parent / "fixtures" / "privatenumber-api.md"


def _section(number: int) -> str:
    """The markdown text of ``## <number>.`` up to the next top-level heading."""
    text = SPEC.read_text(encoding="utf-8")
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"section {number} not found in the spec"
    return match.group(0)


def _rows(section: str) -> list[list[str]]:
    """Table body rows of a section, cells stripped, header and separator rows dropped."""
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # the first row is the header


def _codes_in(cell: str) -> list[int]:
    """``8015, 8041`` and ``8102–8111`` both name several codes."""
    found: list[int] = []
    for part in cell.split(","):
        part = part.strip()
        if "–" in part:
            low, high = (int(bound) for bound in part.split("–"))
            found.extend(range(low, high + 1))
        elif part.isdigit():
            found.append(int(part))
    return found


def _spec_result_codes() -> list[tuple[str, int | None]]:
    rows = []
    for http, code, *_ in _rows(_section(7)):
        status = int(http.rstrip("?")) if http.rstrip("?").isdigit() else None
        if code.isdigit():
            rows.append((code, status))
        elif code == "(UNCONFIRMED)":
            rows.append((codes.CODE_BAD_DIGEST_PLACEHOLDER, status))
    return rows


def test_the_spec_tables_were_found() -> None:
    assert len(_spec_result_codes()) > 30
    assert len(_rows(_section(8))) > 60
    assert len(_rows(_section(9))) > 60
    assert len(_rows(_section(10))) > 30


@pytest.mark.parametrize(("code", "status"), _spec_result_codes())
def test_every_result_code_of_the_spec_is_known(code: str, status: int | None) -> None:
    entry = codes.RESULT_CODES[code]
    assert entry.code == code
    if status is not None:
        assert entry.http_status == status
    assert entry.en
    assert entry.zh
    if code != "0":
        assert entry.action_en
        assert entry.action_zh


def test_the_digest_placeholder_is_1010012() -> None:
    assert codes.describe_result("1010012").en == "Invalid PasswordDigest."


def test_the_second_edition_codes_are_decoded_with_the_operator_action() -> None:
    assert "white list" in codes.describe_result("1020166").en
    assert "白名单" in codes.describe_result("1020166").action_zh
    assert codes.describe_result("1020167").en == "No idle extend Number."
    locked = codes.describe_result("1020176")
    assert not locked.permanent
    assert "resume" in locked.action_en
    assert "恢复" in locked.action_zh
    assert frozenset({"1020176"}) == codes.PAUSING_RESULT_CODES


def test_the_historical_1013102_is_decoded_as_1012010() -> None:
    old, new = codes.describe_result("1013102"), codes.describe_result("1012010")
    assert (old.en, old.zh, old.action_en, old.action_zh) == (
        new.en,
        new.zh,
        new.action_en,
        new.action_zh,
    )


def test_unknown_result_codes_get_a_generic_permanent_entry() -> None:
    entry = codes.describe_result("1099999")
    assert entry.code == "1099999"
    assert entry.permanent
    assert "1099999" in entry.en
    assert "1099999" in entry.zh


def test_known_result_codes_are_described() -> None:
    entry = codes.describe_result("1012008")
    assert entry.permanent
    assert "loose matching" in entry.action_en
    assert "宽松匹配" in entry.action_zh


def test_transient_codes_are_flow_control_the_5xx_rows_and_the_authentication_lock() -> None:
    assert (
        frozenset({"1010010", "1010001", "1023001", "1023002", "1020176"})
        == codes.TRANSIENT_RESULT_CODES
    )
    for code in codes.TRANSIENT_RESULT_CODES:
        assert not codes.RESULT_CODES[code].permanent


def test_every_other_error_code_is_permanent() -> None:
    for code, entry in codes.RESULT_CODES.items():
        if code != "0" and code not in codes.TRANSIENT_RESULT_CODES:
            assert entry.permanent, code


def _spec_hangup_causes() -> list[tuple[int, str]]:
    found = []
    for category, code_cell, _meaning in _rows(_section(8)):
        for code in _codes_in(code_cell):
            found.append((code, "normal" if category == "–" else category))
    return found


@pytest.mark.parametrize(("code", "category"), _spec_hangup_causes())
def test_every_hangup_cause_of_the_spec_is_known(code: int, category: str) -> None:
    cause = codes.hangup_cause(code)
    assert cause.code == code
    assert cause.category == category
    assert cause.en
    assert cause.zh


def _spec_release_points() -> list[int]:
    return [code for code_cell, _meaning in _rows(_section(9)) for code in _codes_in(code_cell)]


@pytest.mark.parametrize("code", _spec_release_points())
def test_every_release_point_of_the_spec_is_known(code: int) -> None:
    cause = codes.release_point(code)
    assert cause.code == code
    assert cause.category != "unknown"
    assert cause.en
    assert cause.zh


def test_release_points_8102_to_8111_use_the_voicecall_meanings() -> None:
    assert codes.release_point(8102).en == "Callee busy."
    assert codes.release_point(8106).en == "Caller number does not exist."
    assert codes.release_point("8111").category == "caller"


def _spec_q850_causes() -> list[int]:
    found = []
    for row in _rows(_section(10)):
        for cell in row[0::2]:
            found.extend(_codes_in(cell))
    return found


@pytest.mark.parametrize("code", _spec_q850_causes())
def test_every_q850_cause_of_the_spec_is_known(code: int) -> None:
    cause = codes.q850_cause(code)
    assert cause.code == code
    assert cause.category != "unknown"
    assert cause.en
    assert cause.zh


@pytest.mark.parametrize("lookup", [codes.hangup_cause, codes.release_point, codes.q850_cause])
def test_unknown_causes_name_the_code(lookup) -> None:
    assert lookup(4242) == codes.Cause(4242, "unknown", "Unknown code 4242", "未知代码 4242")
    assert lookup("4242").code == 4242


@pytest.mark.parametrize("lookup", [codes.hangup_cause, codes.release_point, codes.q850_cause])
def test_absent_causes_are_not_mistaken_for_normal(lookup) -> None:
    assert lookup(None).category == "unknown"
    assert lookup("").category == "unknown"
    assert lookup("abc").en == "Unknown code abc"


def test_causes_accept_numeric_strings() -> None:
    assert codes.hangup_cause("8014").category == "binding"
    assert codes.q850_cause(" 17 ").en == "User busy."


def test_service_types_name_the_modes() -> None:
    assert codes.SERVICE_TYPES == {"003": "AX", "004": "AXB", "005": "AXE", "007": "AXYB"}


def test_x_number_statuses_and_causes_cover_the_spec() -> None:
    assert set(codes.X_NUMBER_STATUSES) == {"5", "9", "10", "11"}
    assert set(codes.X_NUMBER_CAUSES) == {"1", "2", "3", "5", "6", "7", "8", "9"}
    for en, zh in [*codes.X_NUMBER_STATUSES.values(), *codes.X_NUMBER_CAUSES.values()]:
        assert en
        assert zh
