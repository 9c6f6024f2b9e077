"""Is this file a WAV recording of plausible length? (Pure Python, no Django.)

The platform's recordings are WAV files (spec §5.5; the codec is not documented, so any WAV format
with a sensible byte rate is accepted). A file passes when it starts with a RIFF/WAVE header, has a
``fmt `` chunk and a ``data`` chunk, the sizes in the header agree with the size of the file, and
the audio lasts as long as the call did, within a tolerance.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

# The header (RIFF, fmt, any LIST/fact chunks, the start of data) must lie within this many bytes.
HEADER_WINDOW = 64 * 1024
# Writers that stream WAV without knowing the length put one of these in the size fields.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)

FORMAT_NAMES = {1: "PCM", 3: "IEEE float", 6: "A-law", 7: "µ-law", 0xFFFE: "extensible"}


class InvalidRecording(ValueError):
    """The file is not a usable recording; ``code`` is a :class:`~recordings.choices.FailureCode`
    value and the message says what is wrong in plain words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class WavInfo:
    """What the header of a WAV file says, and how long its audio lasts."""

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    byte_rate: int
    data_offset: int
    data_size: int

    @property
    def seconds(self) -> float:
        return self.data_size / self.byte_rate

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.format_tag, f"format {self.format_tag}")


def parse_header(head: bytes, file_size: int) -> WavInfo:
    """Read the header at the start of a file of ``file_size`` bytes; raise InvalidRecording."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise InvalidRecording("NOT_WAV", "the file does not start with a RIFF/WAVE header")
    riff_size = struct.unpack_from("<I", head, 4)[0]
    if riff_size not in _UNKNOWN_SIZES and abs(riff_size + 8 - file_size) > 1:
        raise InvalidRecording(
            "NOT_WAV",
            f"the RIFF header announces {riff_size + 8} bytes but the file has {file_size}",
        )
    position = 12
    fmt: tuple[int, int, int, int, int] | None = None
    while position + 8 <= len(head):
        chunk_id = head[position : position + 4]
        chunk_size = struct.unpack_from("<I", head, position + 4)[0]
        body = position + 8
        if chunk_id == b"fmt ":
            if chunk_size < 16 or body + 16 > len(head):
                raise InvalidRecording("NOT_WAV", "the fmt chunk is too short")
            format_tag, channels, sample_rate, byte_rate, _align, bits = struct.unpack_from(
                "<HHIIHH", head, body
            )
            fmt = (format_tag, channels, sample_rate, byte_rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise InvalidRecording("NOT_WAV", "the data chunk comes before the fmt chunk")
            format_tag, channels, sample_rate, byte_rate, bits = fmt
            if not (1 <= channels <= 8 and 1000 <= sample_rate <= 192000 and byte_rate > 0):
                raise InvalidRecording(
                    "NOT_WAV",
                    f"implausible audio format ({channels} channels, {sample_rate} Hz, "
                    f"{byte_rate} bytes/s)",
                )
            available = file_size - body
            if chunk_size in _UNKNOWN_SIZES:
                chunk_size = available
            elif chunk_size > available:
                raise InvalidRecording(
                    "NOT_WAV",
                    f"the header announces {chunk_size} bytes of audio but the file holds "
                    f"{available}",
                )
            return WavInfo(format_tag, channels, sample_rate, bits, byte_rate, body, chunk_size)
        position = body + chunk_size + (chunk_size & 1)
    raise InvalidRecording("NOT_WAV", "no fmt and data chunks at the start of the file")


def check_length(info: WavInfo, expected_seconds: float | None, tolerance: float) -> None:
    """The audio must last ``expected_seconds`` give or take ``tolerance`` (None: only > 0)."""
    if info.data_size == 0:
        raise InvalidRecording("WRONG_LENGTH", "the recording holds no audio")
    if expected_seconds is None:
        return
    if abs(info.seconds - expected_seconds) > tolerance:
        raise InvalidRecording(
            "WRONG_LENGTH",
            f"the recording lasts {info.seconds:.1f} s "
            f"but the call lasted {expected_seconds:.0f} s",
        )


def inspect(file: BinaryIO, file_size: int) -> WavInfo:
    """Parse the header of an open binary file (read from its start)."""
    file.seek(0)
    return parse_header(file.read(HEADER_WINDOW), file_size)


def tolerance_for(expected_seconds: float | None, seconds: float, ratio: float) -> float:
    """The allowed difference: ``seconds`` or ``ratio`` of the call, whichever is larger."""
    if expected_seconds is None:
        return seconds
    return max(seconds, expected_seconds * ratio)
