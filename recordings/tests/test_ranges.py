"""What a Range header asks for (RFC 9110 §14)."""

from __future__ import annotations

import pytest

from recordings.ranges import ByteRange, RangeNotSatisfiable, parse


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-", ByteRange(0, 999, 1000)),
        ("bytes=0-99", ByteRange(0, 99, 1000)),
        ("bytes=500-", ByteRange(500, 999, 1000)),
        ("bytes=900-5000", ByteRange(900, 999, 1000)),
        ("bytes=-100", ByteRange(900, 999, 1000)),
        ("bytes=-5000", ByteRange(0, 999, 1000)),
        ("BYTES = 10 - 19", ByteRange(10, 19, 1000)),
    ],
)
def test_it_reads_one_range(header, expected):
    assert parse(header, 1000) == expected


@pytest.mark.parametrize("header", [None, "", "bytes=0-1,5-9", "items=0-1"])
def test_several_ranges_or_another_unit_mean_the_whole_file(header):
    assert parse(header, 1000) is None


HUGE = "9" * 5000  # Python refuses to convert it to an int: it must never be tried


@pytest.mark.parametrize(
    "header",
    ["bytes=1000-", "bytes=5000-6000", "bytes=-0", f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}"],
)
def test_a_range_beyond_the_end_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse(header, 1000)


@pytest.mark.parametrize("header", ["bytes=-", "bytes=9-1", "bytes=abc", "bytes=1-2-3", "bytes="])
def test_a_byte_range_that_cannot_be_read_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse(header, 1000)


def test_huge_ends_and_suffixes_are_clamped_to_the_file():
    assert parse(f"bytes=10-{HUGE}", 1000) == ByteRange(10, 999, 1000)
    assert parse(f"bytes=-{HUGE}", 1000) == ByteRange(0, 999, 1000)


def test_content_range_and_length():
    wanted = ByteRange(100, 199, 1000)
    assert (wanted.content_range, wanted.length) == ("bytes 100-199/1000", 100)
