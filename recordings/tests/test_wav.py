"""The WAV check: header, sizes, and a length that matches the call."""

from __future__ import annotations

import io
import struct

import pytest

from recordings.wav import InvalidRecording, check_length, inspect, parse_header, tolerance_for
from simulator.recordings import stream, wav_header, wav_size


def header(
    data_size: int,
    *,
    fmt: int = 1,
    rate: int = 8000,
    bits: int = 16,
    riff: int | None = None,
    extra: bytes = b"",
) -> bytes:
    byte_rate = rate * bits // 8
    riff_size = 36 + len(extra) + data_size if riff is None else riff
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, fmt, 1, rate, byte_rate, bits // 8, bits)
        + extra
        + b"data"
        + struct.pack("<I", data_size)
    )


def test_it_reads_the_simulators_pcm_header_and_length():
    # given the first bytes of a 30-second recording as the simulator serves it
    head = b"".join(stream("seed", 30, 0, 4096))
    # when
    info = parse_header(head, wav_size(30))
    # then
    assert (info.format_name, info.sample_rate, info.channels, info.bits_per_sample) == (
        "PCM",
        8000,
        1,
        16,
    )
    assert (info.data_offset, info.data_size, info.seconds) == (44, 30 * 16000, 30.0)


def test_it_skips_chunks_between_fmt_and_data():
    # given an A-law file with a LIST chunk before its data
    extra = b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\0"
    data = 8000 * 12
    head = header(data, fmt=6, bits=8, extra=extra)
    # when
    info = parse_header(head, len(head) + data)
    # then
    assert (info.format_name, info.seconds) == ("A-law", 12.0)


@pytest.mark.parametrize(
    ("head", "size", "words"),
    [
        (b"<html>not found</html>" + b" " * 40, 62, "RIFF/WAVE"),
        (b"RIFF" + struct.pack("<I", 36) + b"AVI " + b"\0" * 40, 52, "RIFF/WAVE"),
        (header(16000, riff=36 + 32000), 44 + 16000, "RIFF header announces"),
        (header(32000, riff=36 + 16000), 44 + 16000, "announces 32000 bytes of audio"),
        (header(16000, rate=12), 44 + 16000, "implausible audio format"),
        (b"RIFF" + struct.pack("<I", 4) + b"WAVE", 12, "no fmt and data"),
    ],
    ids=["html", "not-wave", "riff-size", "truncated", "format", "no-chunks"],
)
def test_it_refuses_what_is_not_a_whole_wav_file(head, size, words):
    with pytest.raises(InvalidRecording) as caught:
        parse_header(head, size)
    assert caught.value.code == "NOT_WAV"
    assert words in caught.value.message


def test_a_streaming_writers_unknown_sizes_mean_up_to_the_end_of_the_file():
    head = header(0xFFFFFFFF, riff=0xFFFFFFFF)
    info = parse_header(head, 44 + 80000)
    assert info.seconds == 5.0


def test_the_length_must_match_the_call_within_the_tolerance():
    info = parse_header(header(60 * 16000), 44 + 60 * 16000)
    check_length(info, 62, tolerance_for(62, 5, 0.05))  # 2 s off: fine
    with pytest.raises(InvalidRecording) as caught:
        check_length(info, 90, tolerance_for(90, 5, 0.05))
    assert caught.value.code == "WRONG_LENGTH"
    assert "lasts 60.0 s but the call lasted 90 s" in caught.value.message


def test_the_tolerance_grows_with_long_calls():
    assert tolerance_for(60, 5, 0.05) == 5
    assert tolerance_for(3600, 5, 0.05) == 180
    assert tolerance_for(None, 5, 0.05) == 5


def test_an_empty_recording_is_refused_even_without_a_known_length():
    info = parse_header(header(0, riff=36), 44)
    with pytest.raises(InvalidRecording) as caught:
        check_length(info, None, 5)
    assert caught.value.code == "WRONG_LENGTH"


def test_it_inspects_an_open_file_from_its_start():
    body = wav_header(3) + b"\0" * 48000
    handle = io.BytesIO(body)
    handle.seek(100)
    assert inspect(handle, len(body)).seconds == 3.0
