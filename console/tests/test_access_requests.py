"""Access requests (PIPL Art. 45): a file with everything the console holds about one number and
nothing else, gathered by a worker, downloadable once (issue 17)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bindings.choices import BindingStatus
from bindings.models import BulkJob
from bindings.tests.factories import BindingFactory
from console import access_requests
from console.choices import AccessRequestState, AuditAction
from console.models import AccessRequest, AuditLog
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory
from console.tests.test_retention import PERSON, _delivery, _event, _sms
from recordings.tests.factories import make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
STRANGER = "+8613700000001"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.RECORDINGS_STORAGE_BACKEND = "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def person():
    """PERSON in every place, and a stranger's row beside each."""
    now = timezone.now()
    application = ApplicationFactory(recording_enabled=True)
    recording = make_stored_recording(application)  # PERSON calls OTHER
    _event(application, now)
    _sms(application, now)
    _delivery(application, now, body=f'{{"callerNum":"{PERSON}"}}'.encode())
    BindingFactory(application=application, a_number=PERSON, status=BindingStatus.ACTIVE)
    BindingFactory(application=application, a_number=PERSON, status=BindingStatus.ENDED)
    BulkJob.objects.create(application=application, source=f"a_number\n{PERSON}\n")
    _event(application, now, caller=STRANGER)
    _sms(application, now, calling=STRANGER)
    _delivery(application, now, body=f'{{"callerNum":"{STRANGER}"}}'.encode())
    BindingFactory(application=application, a_number=STRANGER, status=BindingStatus.ENDED)
    return recording


def _unzip(content: bytes) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("data.json"))
        files = {name: archive.read(name) for name in names if name != "data.json"}
    return data, files


@pytest.mark.embedded
def test_the_file_holds_everything_about_the_number_and_nothing_else(boss, person):
    job = access_requests.start("139-1234-5678", user=None)
    built = access_requests.build(job.pk)
    assert built.state == AccessRequestState.READY
    assert built.number_encrypted == ""  # the number is forgotten once the file is built
    data, files = _unzip(bytes(built.content))
    rows = data["rows"]
    counts = {place: len(found) for place, found in rows.items()}
    assert counts == {
        "push_bodies": 1,
        "call_events": 1,
        "call_records": 1,
        "sms_records": 1,
        "ended_bindings": 1,
        "bulk_uploads": 1,
        "live_bindings": 1,
        "recordings": 1,
    }
    assert built.rows == sum(counts.values())
    text = json.dumps(rows, ensure_ascii=False)
    assert PERSON in text
    assert STRANGER not in text  # nothing of anybody else
    assert rows["call_records"][0]["caller_num"] == PERSON
    assert rows["sms_records"][0]["content"] == "meet me at the gate"
    assert files == {f"recordings/{person.pk}.wav": person.data}  # the audio, byte for byte


@pytest.mark.embedded
def test_the_file_is_downloaded_once_then_gone(boss, person):
    url = reverse("access_requests")
    asked = boss.post(url, {"number": "13912345678"})
    assert asked.status_code == 302
    job = AccessRequest.objects.get()
    assert job.number_masked == "+86139****5678"
    access_requests.build(job.pk)
    page = boss.get(url).content.decode()
    assert "access-download" in page
    download = reverse("access_request_download", args=[job.pk])
    first = boss.post(download)
    assert first.status_code == 200
    assert first["Content-Type"] == "application/zip"
    data, _files = _unzip(first.content)
    assert data["number"] == PERSON
    assert boss.post(download).status_code == 404
    job.refresh_from_db()
    assert (job.state, bytes(job.content)) == (AccessRequestState.DOWNLOADED, b"")
    assert AuditLog.objects.filter(action=AuditAction.DOWNLOAD, target_id=str(job.pk)).exists()
    assert boss.get(download).status_code == 405  # a download that deletes is never a GET


def test_a_real_worker_gathers_the_file_while_the_page_shows_progress(boss, person, celery_worker):
    boss.post(reverse("access_requests"), {"number": PERSON})
    job = AccessRequest.objects.get()
    deadline = time.monotonic() + 30
    while job.state != AccessRequestState.READY and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.state == AccessRequestState.READY
    assert job.parts_done == job.parts_total > 0


def test_a_request_whose_worker_died_is_built_again_by_the_sweeper(boss, person, monkeypatch):
    from console import jobs

    job = access_requests.start(PERSON, user=None)
    AccessRequest.objects.filter(pk=job.pk).update(
        state=AccessRequestState.BUILDING, lease_until=timezone.now()
    )
    sent = []
    monkeypatch.setattr(jobs, "send", lambda task, *args, **kw: sent.append(args) or True)
    assert jobs.sweep(now=timezone.now() + timedelta(seconds=1))["access_request"] == 1
    assert sent == [(job.pk,)]
    assert access_requests.build(job.pk).state == AccessRequestState.READY


def test_customer_service_cannot_ask_or_download(client, make_user, person):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.post(reverse("access_requests"), {"number": PERSON}).status_code == 403
    job = access_requests.start(PERSON, user=None)
    access_requests.build(job.pk)
    assert client.post(reverse("access_request_download", args=[job.pk])).status_code == 403
    assert AccessRequest.objects.get(pk=job.pk).state == AccessRequestState.READY
