"""Issue #7: a customer-service day in the browser, in Chinese and in English.

Log in, land on the console page, find a binding by a customer's number typed with spaces and
dashes, open it and see its calls, open its call, play the recording, end the binding.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from billing import services as billing_services
from billing.models import CallRecord
from billing.tests.factories import fee, platform_time
from bindings.choices import BindingStatus
from bindings.models import Binding
from bindings.tests.factories import BindingFactory
from console.roles import CUSTOMER_SERVICE
from console.testing import KNOWN_PASSWORD
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo
from recordings import storage
from recordings.choices import RecordingState
from recordings.models import Recording
from simulator.recordings import stream

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.embedded,
]

A = "+8613810000001"
B = "+8613920000001"
X = "+8617000000001"
TALK = 20


def a_recorded_call_on_a_binding() -> Binding:
    """An active binding with one answered, recorded call whose file is stored."""
    application = ApplicationFactory(name="Ride AXB", mode="AXB", recording_enabled=True)
    binding = BindingFactory(
        application=application, a_number=A, b_number=B, x__number=X, order_ref="RIDE-7"
    )
    answered = timezone.now() - timedelta(minutes=10)
    body = fee(
        application,
        started=answered - timedelta(seconds=5),
        answered=answered,
        talk=TALK,
        subscriptionId=binding.subscription_id,
        callerNum=A,
        bindNum=X,
        calleeNum=X,
        fwdDisplayNum=X,
        fwdDstNum=B,
        recordFlag=1,
        recordStartTime=platform_time(answered),
        recordObjectName=f"{answered:%Y%m%d%H%M%S}-demo.wav",
        recordBucketName="bucket",
        recordDomain="record.example",
    )
    with transaction.atomic():
        billing_services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
    record = CallRecord.objects.get(session_id=body["sessionId"])
    assert record.binding_id == binding.pk
    recording = Recording.objects.get(call_record=record)
    data = b"".join(stream(f"seed-{recording.pk}", TALK))
    name = storage.recordings_storage().save(
        storage.file_name(application.pk, recording.pk, recording.call_started_at),
        ContentFile(data),
    )
    Recording.objects.filter(pk=recording.pk).update(
        state=RecordingState.STORED,
        file=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        duration=float(TALK),
        audio_format="PCM 8000 Hz mono 16-bit",
        stored_at=timezone.now(),
        next_attempt_at=None,
    )
    return binding


@pytest.mark.parametrize("journey", ["zh-hans", "en"], indirect=True)
def test_staff_find_a_binding_play_its_recording_and_end_it(journey, make_user):
    # given
    binding = a_recorded_call_on_a_binding()
    make_user("kefu", CUSTOMER_SERVICE)
    page = journey.page
    # when staff sign in from the site's root
    journey.goto("/")
    page.fill("#id_username", "kefu")
    page.fill("#id_password", KNOWN_PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    # then they land on the console page
    assert page.url == journey.base_url + "/"
    page.wait_for_selector("#console-q")
    assert page.locator(".console-failed").is_visible()
    journey.shot("console")
    # when they type the customer's number with spaces and dashes
    page.fill("#console-q", " 138-1000 0001 ")
    with page.expect_navigation():
        page.press("#console-q", "Enter")
    # then the binding and its call are found, the numbers masked
    results = page.locator(".console-results")
    assert "RIDE-7" in results.text_content()
    assert A not in page.content()
    assert page.locator(".console-calls tbody tr a").count() == 1
    journey.shot("found")
    # when they open the binding
    with page.expect_navigation():
        page.click(".console-bindings a:text('RIDE-7')")
    page.wait_for_selector(".binding-end")
    # then its calls are in its timeline
    assert page.locator(".binding-timeline tr.timeline-call").count() == 1
    journey.shot("binding")
    # and its call (from the search results)
    page.go_back()
    with page.expect_navigation():
        page.click(".console-calls tbody tr a")
    # then the recording plays
    audio = page.locator("#recording audio")
    with page.expect_response(lambda r: "/recordings/" in r.url and "/audio" in r.url) as answer:
        audio.evaluate("a => a.play().catch(() => null)")
    assert answer.value.status in (200, 206)
    page.wait_for_function("() => document.querySelector('#recording audio').readyState >= 1")
    journey.shot("recording")
    # when they go back to the binding and end it
    journey.goto(f"/bindings/{binding.pk}/")
    with page.expect_navigation():
        page.click(".binding-end")
    # then they are asked first
    assert page.locator(".console-confirm-question").is_visible()
    with page.expect_navigation():
        page.click(".console-confirm-yes")
    # then the console says so and the binding is being ended
    assert page.locator(".messagelist .success").is_visible()
    binding.refresh_from_db()
    assert binding.status in (BindingStatus.ENDING, BindingStatus.ENDED)
    journey.shot("ended")
