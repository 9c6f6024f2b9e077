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


@pytest.mark.parametrize("header", [None, "", "bytes=0-1,5-9", "items=0-1", "bytes=-", "bytes=9-1"])
def test_what_it_cannot_serve_as_one_range_means_the_whole_file(header):
    assert parse(header, 1000) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_beyond_the_end_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse(header, 1000)


def test_content_range_and_length():
    wanted = ByteRange(100, 199, 1000)
    assert (wanted.content_range, wanted.length) == ("bytes 100-199/1000", 100)
