"""A stored recording is on the disk before it is marked stored, and out of the page cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recordings import services, storage
from recordings.choices import FailureCode, RecordingState
from recordings.services import RecordingTransientError


def _recorder(monkeypatch) -> list[tuple[str, str]]:
    """Record every fsync and fadvise of ``recordings.storage`` as (call, path), then do it."""
    calls: list[tuple[str, str]] = []
    real_fsync, real_fadvise = os.fsync, getattr(os, "posix_fadvise", None)

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        name = "dontneed" if advice == os.POSIX_FADV_DONTNEED else str(advice)
        calls.append((name, os.readlink(f"/proc/self/fd/{fd}")))
        real_fadvise(fd, offset, length, advice)

    monkeypatch.setattr(storage.os, "fsync", fsync)
    if real_fadvise is not None:
        monkeypatch.setattr(storage.os, "posix_fadvise", fadvise)
    return calls


def test_the_stored_file_and_its_directory_reach_the_disk_before_save_returns(
    tmp_path, monkeypatch
):
    spooled = tmp_path / "spool" / "7-x.part"
    spooled.parent.mkdir()
    data = os.urandom(300_000)
    spooled.write_bytes(data)
    calls = _recorder(monkeypatch)

    name = storage.save("recordings/1/2026/12/7-abc.wav", spooled)

    final = Path(storage.recordings_storage().path(name))
    assert final.read_bytes() == data  # moved whole
    assert not spooled.exists()
    # the file's bytes first, then the directory entry the move wrote; then the clean pages go
    assert [call for call in calls if call[0] == "fsync"] == [
        ("fsync", str(final)),
        ("fsync", str(final.parent)),
    ]
    if hasattr(os, "posix_fadvise"):
        assert calls.index(("dontneed", str(final))) > calls.index(("fsync", str(final)))


@pytest.mark.postgres
@pytest.mark.simulator
def test_a_recording_whose_bytes_could_not_be_flushed_is_not_marked_stored(platform, monkeypatch):
    # given a disk that refuses to flush (EIO): the bytes may be lost in a crash
    recording = platform.recorded(20)

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(storage.os, "fsync", broken)
    # when
    with pytest.raises(RecordingTransientError) as caught:
        services.fetch(recording.pk)
    # then it is free for a later attempt, not stored, and says why
    recording.refresh_from_db()
    assert caught.value.code == FailureCode.STORAGE
    assert (recording.state, recording.claim_token) == (RecordingState.PENDING, "")
    assert "Input/output error" in recording.last_error
    # and once the disk is well again the next attempt stores it, the earlier copy gone
    monkeypatch.undo()
    assert services.fetch(recording.pk) == RecordingState.STORED
    recording.refresh_from_db()
    assert storage.stored_names() == [recording.file.name]
