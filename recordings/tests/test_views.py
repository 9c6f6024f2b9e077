"""Playing and downloading (permissions, audit, HTTP Range), the at-risk page, the banner, the
admin pages and the player include; real numbers always masked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, RequestContext, Template
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tests.factories import CALLEE, CALLER, make_recording, make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.embedded]

MASKED_CALLER = "+86139****5678"
MASKED_CALLEE = "+86138****4321"


@pytest.fixture
def signed_in(make_user):
    """A new browser signed in as a new user of ``role``."""

    def sign_in(username: str, role: str | None = None) -> Client:
        user = make_user(username, role)
        browser = Client()
        browser.force_login(user)
        browser.user = user
        return browser

    return sign_in


@pytest.fixture
def kefu(signed_in):
    return signed_in("kefu", CUSTOMER_SERVICE)


@pytest.fixture
def admin_client_(signed_in):
    return signed_in("haoma", NUMBER_ADMINISTRATOR)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def audio_url(recording: Recording) -> str:
    return reverse("recordings:audio", args=[recording.pk])


# --- playing -------------------------------------------------------------------------------------


def test_customer_service_plays_a_stored_recording_whole(kefu):
    recording = make_stored_recording(talk=12)
    response = kefu.get(audio_url(recording))
    assert response.status_code == 200
    assert body(response) == recording.data
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Length"] == str(len(recording.data))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Cache-Control"] == "private, no-store"
    entry = AuditLog.objects.get()
    assert (entry.action, entry.user, entry.target_id) == ("play", kefu.user, str(recording.pk))


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=1000-1999", 1000, 1999), ("bytes=190000-", 190000, None), ("bytes=-500", -500, None)],
)
def test_a_range_is_answered_206_byte_exact(kefu, header, start, end):
    # given a 12-second recording (192,044 bytes)
    recording = make_stored_recording(talk=12)
    size = len(recording.data)
    expected = recording.data[start : None if end is None else end + 1]
    first = start if start >= 0 else size + start
    # when
    response = kefu.get(audio_url(recording), headers={"Range": header})
    # then
    assert response.status_code == 206
    assert body(response) == expected
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{size}"
    assert response["Content-Length"] == str(len(expected))


def test_a_range_beyond_the_end_is_416(kefu):
    recording = make_stored_recording(talk=3)
    size = len(recording.data)
    response = kefu.get(audio_url(recording), headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_a_head_request_answers_the_headers_only(kefu):
    recording = make_stored_recording(talk=3)
    response = kefu.head(audio_url(recording))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(recording.data))
    assert body(response) == b""


def test_seeking_writes_one_audit_row_per_listener(kefu, signed_in):
    # given
    recording = make_stored_recording(talk=12)
    # when the same person seeks around, then a colleague plays it
    for header in ("bytes=0-", "bytes=50000-", "bytes=120000-"):
        body(kefu.get(audio_url(recording), headers={"Range": header}))
    colleague = signed_in("kefu2", CUSTOMER_SERVICE)
    body(colleague.get(audio_url(recording)))
    # then
    assert list(AuditLog.objects.order_by("id").values_list("action", "username")) == [
        ("play", "kefu"),
        ("play", "kefu2"),
    ]


def test_one_listening_is_one_audit_row_whatever_its_ranged_and_head_requests(kefu):
    # given
    recording = make_stored_recording(talk=12)
    url = audio_url(recording)
    # when the player asks for the headers, then seeks 50 times
    kefu.head(url)
    for start in range(0, 50 * 500, 500):
        body(kefu.get(url, headers={"Range": f"bytes={start}-"}))
        kefu.head(url, headers={"Range": f"bytes={start}-"})
    # then
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["play"]


def test_a_head_request_writes_no_audit_row(kefu, admin_client_):
    recording = make_stored_recording(talk=3)
    kefu.head(audio_url(recording))
    admin_client_.head(reverse("recordings:download", args=[recording.pk]))
    assert not AuditLog.objects.exists()


def test_a_download_in_ranges_is_one_audit_row(admin_client_):
    # given
    recording = make_stored_recording(talk=12)
    url = reverse("recordings:download", args=[recording.pk])
    # when a download manager fetches it in ranges, starting anywhere
    for start in (1, 50000, 100000, 0):
        body(admin_client_.get(url, headers={"Range": f"bytes={start}-"}))
    # then
    assert AuditLog.objects.filter(action="download").count() == 1


def test_without_a_cache_every_request_is_audited_rather_than_none(kefu, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("the cache is down")

    recording = make_stored_recording(talk=3)
    monkeypatch.setattr(cache, "add", broken)
    for _ in range(2):
        body(kefu.get(audio_url(recording), headers={"Range": "bytes=0-"}))
    assert AuditLog.objects.filter(action="play").count() == 2


def test_a_role_without_the_play_permission_gets_403_and_no_audio(signed_in):
    recording = make_stored_recording(talk=3)
    nobody = signed_in("nobody")
    assert nobody.get(audio_url(recording)).status_code == 403
    assert not AuditLog.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    recording = make_stored_recording(talk=3)
    response = client.get(audio_url(recording))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_recording_not_stored_is_404(kefu):
    recording = make_recording()
    assert kefu.get(audio_url(recording)).status_code == 404


def test_a_stored_file_gone_missing_is_404_not_a_broken_stream(kefu):
    recording = make_stored_recording(talk=3)
    recording.file.storage.delete(recording.file.name)
    assert kefu.get(audio_url(recording)).status_code == 404


# --- downloading ---------------------------------------------------------------------------------


def test_customer_service_may_not_download(kefu):
    recording = make_stored_recording(talk=3)
    assert kefu.get(reverse("recordings:download", args=[recording.pk])).status_code == 403


def test_an_administrator_downloads_and_every_download_is_audited(admin_client_):
    recording = make_stored_recording(talk=3)
    url = reverse("recordings:download", args=[recording.pk])
    first = admin_client_.get(url)
    body(admin_client_.get(url))
    assert body(first) == recording.data
    disposition = first["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="recording-{recording.pk}-')
    assert "+86" not in disposition
    assert AuditLog.objects.filter(action="download").count() == 2


# --- at risk, banner -----------------------------------------------------------------------------


def test_administrators_see_the_recordings_at_risk_with_a_countdown(admin_client_):
    # given one recording due in 5 hours, one comfortably far, one lost yesterday
    now = timezone.now()
    soon = make_recording()
    Recording.objects.filter(pk=soon.pk).update(
        deadline=now + timedelta(hours=5, minutes=30),
        state=RecordingState.FAILED,
        last_error_code="1012007",
    )
    far = make_recording()
    lost = make_recording()
    Recording.objects.filter(pk=lost.pk).update(
        deadline=now - timedelta(days=1), state=RecordingState.EXPIRED
    )
    # when
    page = admin_client_.get(reverse("recordings:at_risk"))
    # then
    text = page.content.decode()
    assert page.status_code == 200
    assert f"#{soon.pk}<" in text
    assert f"#{lost.pk}<" in text
    assert f"#{far.pk}<" not in text
    assert "5 小时 29 分钟" in text or "5 小时 30 分钟" in text
    assert 'class="recording-countdown" data-deadline=' in text
    assert MASKED_CALLER in text
    assert CALLER not in text
    assert CALLEE not in text


def test_customer_service_cannot_see_the_at_risk_page(kefu):
    assert kefu.get(reverse("recordings:at_risk")).status_code == 403


def test_the_banner_shows_administrators_the_alerted_recordings(admin_client_, kefu, signed_in):
    # given an alerted recording still not stored
    recording = make_recording()
    Recording.objects.filter(pk=recording.pk).update(alerted_at=timezone.now())
    # then administrators see the banner on every admin page
    page = admin_client_.get(reverse("admin:index")).content.decode()
    assert "recordings-alert" in page
    assert reverse("recordings:at_risk") in page
    # and customer service does not
    staff = signed_in("kefu3", CUSTOMER_SERVICE)
    assert "recordings-alert" not in staff.get(reverse("admin:index")).content.decode()


def test_no_banner_when_nothing_is_at_risk(admin_client_):
    make_recording()
    assert "recordings-alert" not in admin_client_.get(reverse("admin:index")).content.decode()


# --- admin pages ---------------------------------------------------------------------------------


def test_the_recordings_list_shows_numbers_masked(kefu):
    recording = make_stored_recording(talk=3)
    page = kefu.get(reverse("admin:recordings_recording_changelist")).content.decode()
    assert f">{recording.pk}<" in page
    assert MASKED_CALLER in page
    assert MASKED_CALLEE in page
    assert CALLER not in page
    assert CALLEE not in page


def test_the_list_finds_a_recording_by_a_typed_number(kefu):
    recording = make_stored_recording(talk=3)
    other = make_recording()
    Recording.objects.filter(pk=other.pk).update(call_started_at=timezone.now())
    page = kefu.get(reverse("admin:recordings_recording_changelist"), {"q": "139 1234 5678"})
    assert [r.pk for r in page.context["cl"].result_list] == sorted(
        [recording.pk, other.pk], reverse=True
    )
    page = kefu.get(reverse("admin:recordings_recording_changelist"), {"q": "139 0000 0000"})
    assert list(page.context["cl"].result_list) == []


def test_a_recordings_page_has_its_player_and_masked_parties(kefu):
    recording = make_stored_recording(talk=3)
    page = kefu.get(reverse("admin:recordings_recording_change", args=[recording.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert f'<audio controls preload="none" src="{audio_url(recording)}"' in text
    assert MASKED_CALLER in text
    assert CALLER not in text


def test_customer_service_cannot_retry_administrators_can_and_it_is_audited(
    admin_client_, monkeypatch
):
    from console import jobs

    failed = make_recording()
    Recording.objects.filter(pk=failed.pk).update(state=RecordingState.FAILED)
    stored = make_stored_recording(talk=3)
    queued = []
    monkeypatch.setattr(
        jobs, "send_on_commit", lambda task, *args, **kwargs: queued.append((task.name, args))
    )
    response = admin_client_.post(
        reverse("admin:recordings_recording_changelist"),
        {"action": "retry_now", "_selected_action": [failed.pk, stored.pk]},
    )
    assert response.status_code == 302
    assert queued == [("recordings.tasks.fetch_recording_task", (failed.pk,))]
    entry = AuditLog.objects.get(action="reprocess")
    assert entry.target_id == str(failed.pk)


# --- the player include --------------------------------------------------------------------------

INCLUDE = Template('{% include "recordings/_player.html" with call_record=record %}')


def render_player(user, record) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return INCLUDE.render(RequestContext(request, {"record": record}))


def test_the_player_plays_for_customer_service_without_a_download_link(make_user):
    user = make_user("kefu", CUSTOMER_SERVICE)
    recording = make_stored_recording(talk=3)
    html = render_player(user, recording.call_record)
    assert f'src="{audio_url(recording)}"' in html
    assert reverse("recordings:download", args=[recording.pk]) not in html


def test_the_player_offers_administrators_the_download(make_user):
    user = make_user("haoma", NUMBER_ADMINISTRATOR)
    recording = make_stored_recording(talk=3)
    html = render_player(user, recording.call_record)
    assert reverse("recordings:download", args=[recording.pk]) in html


def test_the_player_says_why_there_is_nothing_to_play(make_user):
    user = make_user("kefu", CUSTOMER_SERVICE)
    pending = make_recording()
    Recording.objects.filter(pk=pending.pk).update(
        state=RecordingState.FAILED, last_error_code="WRONG_LENGTH"
    )
    pending.refresh_from_db()
    html = render_player(user, pending.call_record)
    assert "<audio" not in html
    assert pending.get_state_display() in html
    assert "平台将在 6 天 23 小时 后删除" in html
    assert "录音时长与通话时长不符" in html
    from billing.tests.factories import make_record

    unrecorded = make_record(pending.application)
    assert "此通话没有录音。" in render_player(user, unrecorded)


def test_without_a_request_context_the_player_plays_nothing():
    recording = make_stored_recording(talk=3)
    html = INCLUDE.render(Context({"record": recording.call_record}))
    assert "<audio" not in html
