"""Where stored recordings live: the ``"recordings"`` alias of Django's ``STORAGES``.

Local file system by default (under ``MEDIA_ROOT``), or any django-storages backend (S3-compatible
buckets, Huawei OBS through its S3 interface) by setting ``RECORDINGS_STORAGE_BACKEND``. This
module is the only place that knows the difference:

* :func:`save` stores a checked download from the spool directory. On the file system it is a
  rename when the spool is on the same disk, and the file and its directory are flushed to the
  disk before it returns; S3 uploads it in bounded multipart chunks.
* :func:`open_range` streams bytes of a stored file for the player, in chunks, never the whole
  file in memory. (django-storages' ``S3File`` would first copy the whole object into a temporary
  file, so S3 is read with ranged ``GetObject`` requests instead.)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, storages

ALIAS = "recordings"
CHUNK_SIZE = 64 * 1024


def recordings_storage() -> Storage:
    """The storage of recordings (a callable, so FileField and settings overrides follow it)."""
    return storages[ALIAS]


def file_name(application_id: int, recording_id: int, when: datetime) -> str:
    """``recordings/<app id>/<yyyy>/<mm>/<recording id>-<random>.wav``: no phone number in it.

    The random part makes every attempt's name unique, so an attempt can never overwrite or be
    mistaken for the file of another, and the names cannot be guessed.
    """
    return (
        f"recordings/{application_id}/{when:%Y}/{when:%m}/{recording_id}-{secrets.token_hex(8)}.wav"
    )


class _SpooledFile(File):
    """A downloaded file on local disk. ``temporary_file_path`` lets FileSystemStorage move it
    into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.name


def save(name: str, path: Path) -> str:
    """Store the local file at ``path`` under ``name``; the name actually used is returned.

    On the file system the stored file is on the disk when this returns (:func:`_settle`): the
    recording is marked stored right after, and the platform deletes its own copy after seven
    days, so bytes lost from the page cache in a crash would be a recording lost for good.
    """
    storage = recordings_storage()
    with open(path, "rb") as handle:
        stored = storage.save(name, _SpooledFile(handle, name=str(path)))
    try:
        final = Path(storage.path(stored))
    except NotImplementedError:  # a bucket: the upload is complete when save() returns
        return stored
    _settle(final)
    return stored


def _settle(path: Path) -> None:
    """Flush a just-stored file to the disk, then drop it from the page cache.

    ``fsync`` the file, then its directory (which holds the name the move gave it). Its pages are
    then clean, and ``POSIX_FADV_DONTNEED`` gives them back: a recording is written once and
    played rarely, and gigabytes of them kept in the cache would push out what PostgreSQL and the
    console read all day. On a virtual machine, writing into pages given back is also cheaper than
    into memory the guest never touched (a script writing 5 MiB files: 2.0-2.3 ms of CPU a MiB
    kept in the cache, 0.48 flushed and dropped; the recordings benchmark's workers spent 8 % less
    a recording; ``docs/benchmarks.md``, ninth session).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        if hasattr(os, "posix_fadvise"):  # Linux and most Unixes; not macOS
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def delete(name: str) -> None:
    """Delete a stored file; deleting one that is not there is not an error."""
    if name:
        recordings_storage().delete(name)


def exists(name: str) -> bool:
    return bool(name) and recordings_storage().exists(name)


def open_range(name: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (inclusive) of a stored file, in chunks of 64 KiB.

    The file is opened before this returns (a missing file raises FileNotFoundError here, not
    halfway through a response); the iterator closes it when exhausted or closed.
    """
    storage = recordings_storage()
    if _is_s3(storage):
        return _s3_range(storage, name, start, end)
    handle = storage.open(name, "rb")
    handle.seek(start)
    return _file_chunks(handle, end - start + 1)


def _file_chunks(handle, remaining: int) -> Iterator[bytes]:
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def _s3_range(storage, name: str, start: int, end: int) -> Iterator[bytes]:
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    # The same key django-storages computes for the name (its location prefix included).
    key = storage._normalize_name(clean_name(name))
    try:
        answer = storage.connection.meta.client.get_object(
            Bucket=storage.bucket_name, Key=key, Range=f"bytes={start}-{end}"
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(name) from None
        raise
    return _s3_chunks(answer["Body"])


def _s3_chunks(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    finally:
        body.close()


def stored_names(prefix: str = "recordings") -> list[str]:
    """Every file name under ``prefix`` in the storage (for tests and the orphan check)."""
    storage = recordings_storage()
    found: list[str] = []
    pending = [prefix]
    while pending:
        folder = pending.pop()
        try:
            directories, files = storage.listdir(folder)
        except FileNotFoundError:
            continue
        found.extend(f"{folder}/{name}" for name in files)
        pending.extend(f"{folder}/{name}" for name in directories)
    return sorted(found)
