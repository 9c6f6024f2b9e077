"""Recordings in an S3-compatible bucket (as with Huawei OBS): stored, streamed by range, deleted.

moto stands in for the bucket in-process; the storage is django-storages' S3Storage configured
like ``shell/settings.py`` configures it for ``RECORDINGS_STORAGE_BACKEND``.
"""

from __future__ import annotations

import hashlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from django.test import Client
from django.urls import reverse
from moto import mock_aws

from console.roles import CUSTOMER_SERVICE
from recordings import storage
from recordings.models import Recording
from recordings.tests.factories import make_recording
from simulator.recordings import stream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

BUCKET = "recordings-test"


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="cn-north-4").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "cn-north-4"}
        )
        settings.STORAGES = {
            **settings.STORAGES,
            "recordings": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "region_name": "cn-north-4",
                    "location": "console",
                    "default_acl": "private",
                    "file_overwrite": False,
                    "client_config": Config(
                        s3={"addressing_style": "virtual"},
                        signature_version="s3v4",
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                    ),
                    "transfer_config": TransferConfig(
                        multipart_threshold=8 * 1024 * 1024,
                        multipart_chunksize=8 * 1024 * 1024,
                        max_concurrency=2,
                    ),
                },
            },
        }
        yield boto3.client("s3", region_name="cn-north-4")


def test_a_recording_is_stored_in_the_bucket_and_streamed_back_by_range(s3, tmp_path):
    # given a 20 MB recording in the spool (larger than one multipart chunk)
    data = b"".join(stream("s3", 1300))
    spooled = tmp_path / "r.wav"
    spooled.write_bytes(data)
    # when
    name = storage.save("recordings/7/2026/03/15-abcdef.wav", spooled)
    # then it is an object under the configured prefix, byte-exact
    head = s3.head_object(Bucket=BUCKET, Key=f"console/{name}")
    assert head["ContentLength"] == len(data)
    assert storage.exists(name)
    assert b"".join(storage.open_range(name, 0, len(data) - 1)) == data
    assert b"".join(storage.open_range(name, 1_000_000, 1_065_535)) == data[1_000_000:1_065_536]
    # and it can be deleted
    storage.delete(name)
    assert not storage.exists(name)


def test_a_missing_object_is_file_not_found(s3):
    with pytest.raises(FileNotFoundError):
        storage.open_range("recordings/none.wav", 0, 10)


def test_the_player_streams_a_recording_from_the_bucket(s3, tmp_path, make_user):
    # given a stored recording whose file is in the bucket
    data = b"".join(stream("s3-player", 30))
    (tmp_path / "r.wav").write_bytes(data)
    recording = make_recording()
    name = storage.save(
        storage.file_name(recording.application_id, recording.pk, recording.call_started_at),
        tmp_path / "r.wav",
    )
    Recording.objects.filter(pk=recording.pk).update(
        state="stored", file=name, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    browser = Client()
    browser.force_login(make_user("kefu", CUSTOMER_SERVICE))
    # when
    response = browser.get(
        reverse("recordings:audio", args=[recording.pk]), headers={"Range": "bytes=100-199"}
    )
    # then
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == data[100:200]
