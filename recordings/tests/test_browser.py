"""In a real browser (Debian's chromium via Playwright): customer service plays a recording and
seeks in it (HTTP Range), an administrator sees the recordings at risk under the banner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tests.factories import make_recording, make_stored_recording
from tests.browser import conftest as browser_fixtures
from tests.browser.test_sign_in import sign_in

# The browser fixtures of tests/browser/ (a conftest there does not reach this directory).
playwright_driver = browser_fixtures.playwright_driver
browser = browser_fixtures.browser
journey = browser_fixtures.journey

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.embedded,
]


def test_customer_service_plays_a_recording_and_seeks_in_it(journey, make_user):
    # given a stored 20-second recording
    make_user("kefu", CUSTOMER_SERVICE)
    recording = make_stored_recording(talk=20)
    audio_path = f"/recordings/{recording.pk}/audio"
    ranges: list[tuple[str | None, int]] = []
    journey.page.on(
        "response",
        lambda response: (
            audio_path in response.url
            and ranges.append((response.request.headers.get("range"), response.status))
        ),
    )
    # when customer service opens it and plays it
    sign_in(journey, "kefu")
    journey.goto(f"/admin/recordings/recording/{recording.pk}/change/")
    journey.page.wait_for_selector("audio")
    journey.shot("recording-page")
    duration = journey.page.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.querySelector("audio");
            audio.muted = true;
            audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
            audio.addEventListener("error", () => reject(audio.error && audio.error.code));
            audio.play().catch(() => audio.load());
        })"""
    )
    # then the browser reads it as 20 seconds of audio
    assert duration == pytest.approx(20, abs=0.1)
    # when it seeks near the end
    position = journey.page.evaluate(
        """() => new Promise((resolve) => {
            const audio = document.querySelector("audio");
            audio.addEventListener("seeked", () => resolve(audio.currentTime), {once: true});
            audio.currentTime = 17;
        })"""
    )
    # then it got there, asking the server for byte ranges answered 206
    assert position == pytest.approx(17, abs=0.5)
    assert ranges
    assert all(status in (200, 206) for _, status in ranges)
    assert any(header and header.startswith("bytes=") for header, _ in ranges)
    # and the listening is in the audit log, once
    from console.models import AuditLog

    assert AuditLog.objects.filter(action="play", target_id=str(recording.pk)).count() == 1


def test_an_administrator_sees_the_banner_and_the_recordings_at_risk(journey, make_user):
    # given a recording still not stored 5 hours before its deadline, alerted
    make_user("haoma", NUMBER_ADMINISTRATOR)
    recording = make_recording()
    Recording.objects.filter(pk=recording.pk).update(
        state=RecordingState.FAILED,
        last_error_code="1012007",
        deadline=timezone.now() + timedelta(hours=5, minutes=10),
        alerted_at=timezone.now(),
        attempts=3,
    )
    # when the administrator signs in
    sign_in(journey, "haoma")
    # then the banner is there and leads to the list with the countdown
    banner = journey.page.locator(".recordings-alert")
    assert "1 条录音尚未保存" in banner.text_content()
    journey.shot("banner")
    with journey.page.expect_navigation():
        banner.locator("a").click()
    row = journey.page.locator("table.recordings-at-risk tbody tr").first
    assert f"#{recording.pk}" in row.text_content()
    assert "5 小时" in row.locator(".recording-countdown").text_content()
    assert "+86139****5678" in row.text_content()
    journey.shot("at-risk")
