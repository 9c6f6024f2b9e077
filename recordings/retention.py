"""Recordings' personal data for ``console.retention``: stored files (deleted from storage, the row
kept as ``deleted``). The files of one number are those of its CDRs. Registered from
``RecordingsConfig.ready()``."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import CallRecord
from console import retention
from console.retention import Part, holding_any
from recordings import storage
from recordings.choices import RecordingState
from recordings.models import Recording


def _holding(forms: list[str]):
    fields = [f"call_record__{name}" for name in CallRecord.REAL_NUMBER_FIELDS]
    return Recording.objects.filter(holding_any(fields, forms)).exclude(file="")


def _delete_files(ids: list[int]) -> int:
    """Delete the files, then mark the rows (under their locks: a fetch cannot store meanwhile)."""
    rows = list(Recording.objects.select_for_update().filter(pk__in=ids).values_list("pk", "file"))
    for _pk, name in rows:
        if name:
            storage.delete(name)
    return Recording.objects.filter(pk__in=[pk for pk, _name in rows]).update(
        state=RecordingState.DELETED, file="", deleted_at=timezone.now()
    )


def _files(ids: list[int]):
    """The stored audio of the recordings ``ids``, for an access request."""
    for pk, name, size in Recording.objects.filter(pk__in=ids).values_list("pk", "file", "size"):
        if name and size:
            yield f"recordings/{pk}.wav", storage.open_range(name, 0, size - 1)


def register() -> None:
    """Called from ``RecordingsConfig.ready()``."""
    retention.register(
        Part(
            "recordings",
            "recordings",
            _("stored recordings"),
            Recording,
            due=lambda application, cutoff: Recording.objects.filter(
                application=application, state=RecordingState.STORED, stored_at__lt=cutoff
            ),
            holding=_holding,
            erase=_delete_files,
            files=_files,
        )
    )
