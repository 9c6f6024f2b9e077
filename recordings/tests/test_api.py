"""Recordings through the API: metadata of the key's applications (``recordings:read``), and a
signed download URL that needs no key, serves HTTP Range, expires, refuses a tampered token and
audits the download under the key's name."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from console import apikeys
from console.choices import ApiScope
from console.models import AuditLog
from console.testing.factories import ApplicationFactory
from recordings.api import signing as url_signing
from recordings.choices import RecordingState
from recordings.tests.factories import make_recording, make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db, pytest.mark.embedded]

READ = ApiScope.RECORDINGS_READ


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_recordings_are_listed_with_their_metadata_for_the_keys_applications(
    api_client, django_assert_max_num_queries
):
    application, other = ApplicationFactory(), ApplicationFactory()
    stored = make_stored_recording(application, talk=12)
    pending = make_recording(application)
    theirs = make_stored_recording(other)
    assert (
        api_client([application], [ApiScope.CALLS_READ]).get("/api/v1/recordings/").status_code
        == 403
    )
    client = api_client([application], [READ])
    client.get("/api/v1/recordings/")  # the key's last use is written once
    with django_assert_max_num_queries(2):  # the key, the page (with the calls' bindings)
        page = client.get("/api/v1/recordings/").json()
    assert [r["id"] for r in page["results"]] == [pending.pk, stored.pk]
    shown = page["results"][1]
    assert shown["call"] == stored.call_record_id
    assert shown["binding"] == stored.call_record.binding_id
    assert shown["state"] == "stored"
    assert shown["size"] == len(stored.data)
    assert shown["sha256"] == stored.sha256
    assert shown["duration"] == 12.0
    assert shown["deadline"]
    assert shown["stored_at"]
    assert shown["download_url"].startswith(
        f"http://testserver/api/v1/recordings/{stored.pk}/audio/?token="
    )
    assert shown["download_url_expires_at"]
    assert page["results"][0]["download_url"] is None  # nothing stored yet
    assert client.get(f"/api/v1/recordings/{theirs.pk}/").status_code == 404
    for query, expected in (
        ({"state": "stored"}, [stored.pk]),
        ({"call": stored.call_record_id}, [stored.pk]),
        ({"application": other.pk}, []),
        ({"started_after": "2000-01-01T00:00:00Z"}, [pending.pk, stored.pk]),
        ({"started_before": "2000-01-01T00:00:00Z"}, []),
    ):
        got = client.get("/api/v1/recordings/", query).json()["results"]
        assert [r["id"] for r in got] == expected, query
    assert client.get("/api/v1/recordings/", {"call": "first"}).status_code == 400


def test_the_signed_url_serves_ranges_without_a_key_and_audits_as_the_key(api_client):
    application = ApplicationFactory()
    recording = make_stored_recording(application, talk=12)
    client = api_client([application], [READ])
    url = path_of(client.get(f"/api/v1/recordings/{recording.pk}/").json()["download_url"])
    anonymous = APIClient()  # no Authorization header: the URL is enough
    # a range: 206, Content-Range, the right bytes
    part = anonymous.get(url, HTTP_RANGE="bytes=1000-1999", HTTP_ACCEPT="audio/*")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 1000-1999/{len(recording.data)}"
    assert part["Content-Length"] == "1000"
    assert body(part) == recording.data[1000:2000]
    assert part["Content-Type"] == "audio/wav"
    # the whole file, and a range beyond the end
    whole = anonymous.get(url)
    assert whole.status_code == 200
    assert body(whole) == recording.data
    beyond = anonymous.get(url, HTTP_RANGE=f"bytes={len(recording.data) + 10}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(recording.data)}"
    # audited as the key: a ranged request opens a download, the whole copy is one more
    rows = AuditLog.objects.filter(action="download", target_id=str(recording.pk))
    assert rows.count() == 2
    assert {row.username for row in rows} == {f"api:{client.api_key.name}"}
    assert all(row.user is None for row in rows)


def test_the_signed_url_spends_the_rate_limit_of_the_key_that_asked_for_it(
    api_client, one_rate_window
):
    application = ApplicationFactory()
    recording = make_stored_recording(application, talk=12)
    client = api_client([application], [READ], rate_per_minute=3)
    url = path_of(client.get(f"/api/v1/recordings/{recording.pk}/").json()["download_url"])
    anonymous = APIClient()
    # the key's own request above was the first of its 3 a minute; the URL has two left
    assert [anonymous.get(url, HTTP_RANGE="bytes=0-9").status_code for _ in range(2)] == [206, 206]
    downloads = AuditLog.objects.filter(action="download", target_id=str(recording.pk))
    audited = downloads.count()
    refused = anonymous.get(url)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert downloads.count() == audited  # nothing was served, nothing audited
    # and the key itself is out of budget too: one limit, whoever spends it
    assert client.get(f"/api/v1/recordings/{recording.pk}/").status_code == 429


def test_the_signed_url_expires_and_refuses_a_tampered_or_borrowed_token(api_client, settings):
    application = ApplicationFactory()
    recording = make_stored_recording(application, talk=3)
    other = make_stored_recording(application, talk=3)
    client = api_client([application], [READ])
    url = path_of(client.get(f"/api/v1/recordings/{recording.pk}/").json()["download_url"])
    token = parse_qs(urlsplit(url).query)["token"][0]
    anonymous = APIClient()
    assert anonymous.get(url).status_code == 200

    def refused(path: str, code: str) -> None:
        response = anonymous.get(path)
        assert response.status_code == 403, response
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == code

    # tampered: one character changed, no token, another recording's path
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused(f"/api/v1/recordings/{recording.pk}/audio/?token={flipped}", "url_invalid")
    refused(f"/api/v1/recordings/{recording.pk}/audio/", "url_invalid")
    refused(f"/api/v1/recordings/{other.pk}/audio/?token={token}", "url_invalid")
    # expired: the same URL once its lifetime is over
    settings.API_RECORDING_URL_SECONDS = -1
    refused(url, "url_expired")
    settings.API_RECORDING_URL_SECONDS = 300
    assert anonymous.get(url).status_code == 200
    # a revoked key's URLs stop at once
    apikeys.revoke(client.api_key)
    refused(url, "url_revoked")
    # a token made for a key without the recording's application
    stranger = api_client([ApplicationFactory()], [READ])
    forged = url_signing.token_for(recording.pk, stranger.api_key.pk)
    refused(f"/api/v1/recordings/{recording.pk}/audio/?token={forged}", "url_revoked")


def test_a_recording_not_stored_has_no_audio(api_client):
    application = ApplicationFactory()
    recording = make_recording(application, state=RecordingState.EXPIRED)
    client = api_client([application], [READ])
    token = url_signing.token_for(recording.pk, client.api_key.pk)
    response = APIClient().get(f"/api/v1/recordings/{recording.pk}/audio/?token={token}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
