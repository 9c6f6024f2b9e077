"""The push receivers answer every case as documented and never lose what is stored."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import CallEvent, CallRecord, SmsRecord
from billing.tests.factories import fee, fee_push
from bindings.tests.factories import BindingFactory
from console import hooks, inbox
from console.choices import DeliveryState
from console.models import Delivery
from console.testing import push_handler
from console.testing.factories import JSON_TYPE, ApplicationFactory, load_fixture, post_push, signed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def application():
    return ApplicationFactory(mode="AXB")


def stored() -> tuple[int, int, int, int]:
    return (
        Delivery.objects.count(),
        CallRecord.objects.count(),
        CallEvent.objects.count(),
        SmsRecord.objects.count(),
    )


# --- accepted pushes ------------------------------------------------------------------------------


def test_a_cdr_push_is_stored_with_its_delivery_and_answered_200_with_no_body(client, application):
    # given
    body = fee_push(fee(application), fee(application))
    # when
    response = post_push(client, "fee", body, application)
    # then
    assert response.status_code == 200
    assert response.content == b""
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.kind, delivery.endpoint) == ("processed", "fee", "fee")
    assert (delivery.items, delivery.size, bytes(delivery.body)) == (2, len(body), body)
    assert delivery.scheme == "AKSK"
    assert CallRecord.objects.filter(delivery=delivery).count() == 2


def test_a_retried_push_changes_nothing_and_is_answered_200(client, application):
    # given
    body = fee_push(fee(application))
    assert post_push(client, "fee", body, application).status_code == 200
    before = stored()
    # when the platform sends the same body again, freshly signed
    response = post_push(client, "fee", body, application)
    # then
    assert response.status_code == 200
    assert stored() == before


def test_a_cdr_already_stored_is_not_stored_again_when_it_comes_in_another_push(
    client, application
):
    # given
    first, second = fee(application), fee(application)
    post_push(client, "fee", fee_push(first), application)
    # when a later push merges the same CDR with a new one
    response = post_push(client, "fee", fee_push(second, first), application)
    # then
    assert response.status_code == 200
    assert CallRecord.objects.count() == 2
    assert Delivery.objects.get(pk=Delivery.objects.latest("id").pk).items == 2


def test_a_legacy_wsse_signed_push_is_accepted(client, application):
    response = post_push(client, "fee", fee_push(fee(application)), application, scheme="WSSE")
    assert response.status_code == 200
    assert Delivery.objects.get().scheme == "WSSE"


def test_a_push_arriving_on_another_receiver_is_dispatched_by_its_type(client, application):
    # X-number status goes to the call-status URL when no separate URL is configured (spec §6.3)
    response = post_push(client, "status", fee_push(fee(application)), application)
    assert response.status_code == 200
    assert CallRecord.objects.count() == 1
    assert Delivery.objects.get().endpoint == "status"


def test_an_unknown_event_type_is_kept_as_ignored_and_answered_200(client, application):
    response = post_push(client, "status", {"eventType": "ringback", "statusInfo": {}}, application)
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.IGNORED
    assert "ringback" in delivery.error


# --- refused before anything is read or stored ------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param(lambda app: {}, "1023006", id="no header"),
        pytest.param(
            lambda app: {"Authorization": 'AKSK realm="SDP",profile="UsernameToken"'},
            "1023012",
            id="malformed header",
        ),
        pytest.param(
            lambda app: signed(app, secret="not-the-secret"), "1010012", id="wrong secret"
        ),
        pytest.param(
            lambda app: signed(
                app, secret="not-the-secret", created=timezone.now() - timedelta(minutes=6)
            ),
            "1010012",
            id="wrong secret and stale Created",
        ),
        pytest.param(
            lambda app: signed(ApplicationFactory.build(app_key="nobody")),
            "1010003",
            id="unknown app_key",
        ),
    ],
)
def test_a_push_without_a_valid_signature_gets_401_and_a_log_line_and_stores_nothing(
    client, application, caplog, headers, code
):
    # given
    before = stored()
    # when
    response = client.post(
        "/hooks/fee",
        data=fee_push(fee(application)),
        content_type=JSON_TYPE,
        headers=headers(application),
    )
    # then
    assert response.status_code == 401
    assert response.json()["resultcode"] == code
    assert stored() == before
    assert any("refused" in record.getMessage() for record in caplog.records)


def test_a_replayed_auth_header_with_another_body_is_held_not_applied(client, application):
    # given a header captured from a genuine push
    headers = signed(application)
    body = fee_push(fee(application))
    assert client.post("/hooks/fee", body, content_type=JSON_TYPE, headers=headers).status_code
    # when someone sends another body with the same header while Created is still fresh
    forged = fee_push(fee(application))
    response = client.post("/hooks/fee", forged, content_type=JSON_TYPE, headers=headers)
    # then: kept and answered 200 (a valid digest is never lost), but nothing applied
    assert response.status_code == 200
    assert CallRecord.objects.count() == 1
    held = Delivery.objects.get(state=DeliveryState.HELD)
    assert (held.hold_reason, held.items) == ("replayed", 1)


@pytest.mark.redis
def test_a_replayed_auth_header_is_held_with_the_redis_cache(client, application, settings):
    # given the production cache, Redis (the receiver keeps one client on it)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "KEY_PREFIX": f"test-replay-{uuid.uuid4().hex}",
        }
    }
    headers = signed(application)
    body = fee_push(fee(application))
    first = client.post("/hooks/fee", body, JSON_TYPE, headers=headers)
    # when the same header comes again, with the same body (a retry) and with another one
    again = client.post("/hooks/fee", body, JSON_TYPE, headers=headers)
    forged = client.post("/hooks/fee", fee_push(fee(application)), JSON_TYPE, headers=headers)
    # then
    assert (first.status_code, again.status_code, forged.status_code) == (200, 200, 200)
    assert CallRecord.objects.count() == 1
    assert Delivery.objects.filter(state=DeliveryState.HELD).count() == 1
    assert hooks._redis_client() is not None


def test_a_get_is_answered_405_and_stores_nothing(client, application):
    response = client.get("/hooks/fee", headers=signed(application))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert stored() == (0, 0, 0, 0)


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(client, application):
    # given
    big = b'{"eventType":"fee","feeLst":[' + b" " * (1024 * 1024) + b"]}"
    # when
    with mock.patch("django.core.handlers.wsgi.LimitedStream.read") as read:
        response = client.post(
            "/hooks/fee", big, content_type=JSON_TYPE, headers=signed(application)
        )
    # then
    assert response.status_code == 413
    read.assert_not_called()
    assert stored() == (0, 0, 0, 0)


def test_a_content_length_of_five_thousand_digits_is_refused_with_413(rf, application):
    from console.hooks import receive

    # given
    request = rf.post("/hooks/fee", fee_push(fee(application)), content_type=JSON_TYPE)
    request.META["CONTENT_LENGTH"] = "9" * 5000
    request.META.update(
        {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed(application).items()}
    )
    # when
    response = receive(request, endpoint="fee")
    # then
    assert response.status_code == 413
    assert stored() == (0, 0, 0, 0)


def test_a_push_without_content_length_is_refused_with_411(rf, application):
    from console.hooks import receive

    # given a chunked request: no Content-Length header
    request = rf.post("/hooks/fee", fee_push(fee(application)), content_type=JSON_TYPE)
    del request.META["CONTENT_LENGTH"]
    request.META.update(
        {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed(application).items()}
    )
    # when
    response = receive(request, endpoint="fee")
    # then
    assert response.status_code == 411
    assert stored() == (0, 0, 0, 0)


# --- kept and answered 400 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_body", "field"),
    [
        pytest.param(lambda app: b"this is not json", "body", id="not JSON"),
        pytest.param(lambda app: b'{"eventType": "fee", "feeLst": [\xff]}', "body", id="bad UTF-8"),
        pytest.param(lambda app: b"[1, 2]", "body", id="JSON not an object"),
        pytest.param(lambda app: b'{"hello": "world"}', "eventType", id="JSON of the wrong shape"),
        pytest.param(lambda app: fee_push(*[fee(app) for _ in range(51)]), "feeLst", id="51 CDRs"),
        pytest.param(
            lambda app: fee_push(fee(app, callerNum="+86" + "1" * 40)),
            "feeLst.0.callerNum",
            id="a field too long",
        ),
        pytest.param(
            lambda app: fee_push(fee(app, appKey="someone-else")),
            "feeLst.0.appKey",
            id="a CDR of another application",
        ),
        pytest.param(
            lambda app: fee_push(fee(app, callInTime="23/01/2019 09:15")),
            "feeLst.0.callInTime",
            id="a time in a wrong format",
        ),
    ],
)
def test_a_body_that_cannot_be_parsed_is_kept_and_answered_400_naming_the_field(
    client, application, make_body, field
):
    # given something already stored
    post_push(client, "fee", fee_push(fee(application)), application)
    # when
    body = make_body(application)
    response = post_push(client, "fee", body, application)
    # then
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]
    failed = Delivery.objects.get(state=DeliveryState.FAILED)
    assert bytes(failed.body) == body
    assert failed.error_field == field
    assert CallRecord.objects.count() == 1  # what was stored before is still there


def test_a_failed_body_sent_again_is_not_stored_twice(client, application):
    # given
    post_push(client, "fee", b"not json", application)
    # when
    response = post_push(client, "fee", b"not json", application)
    # then
    assert response.status_code == 400
    failed = Delivery.objects.get()
    assert (failed.state, failed.attempts) == ("failed", 2)


def test_a_number_in_a_wrong_format_is_stored_as_pushed_and_flagged(client, application):
    # The platform accepts such a bound number and its calls fail (spec §1.2): the CDR is a fact.
    body = fee_push(fee(application, fwdDstNum="13800000021", ulFailReason=7506, fwdAnswerTime=""))
    response = post_push(client, "fee", body, application)
    assert response.status_code == 200
    record = CallRecord.objects.get()
    assert (record.fwd_dst_num, record.malformed_number) == ("13800000021", True)


# --- failures while applying ------------------------------------------------------------------


def test_a_push_that_fails_to_apply_rolls_back_its_effects_is_kept_and_answered_500(
    client, application
):
    # given a service that breaks after writing part of its work
    def broken(application, push, *, delivery):
        from billing.services import ingest_cdrs

        ingest_cdrs(application, push.fee_lst, delivery=delivery)
        raise RuntimeError("disk full")

    body = fee_push(fee(application))
    # when
    with push_handler("fee", broken):
        response = post_push(client, "fee", body, application)
    # then
    assert response.status_code == 500
    assert CallRecord.objects.count() == 0
    failed = Delivery.objects.get()
    assert failed.state == "failed"
    assert "disk full" in failed.error
    # and the platform's retry after the fix applies it under the same delivery
    response = post_push(client, "fee", body, application)
    assert response.status_code == 200
    assert CallRecord.objects.count() == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.error) == ("processed", 2, "")


@pytest.mark.django_db(transaction=True)
def test_the_answer_is_decided_only_after_the_transaction_committed(client, application):
    # given: no test transaction around the request; look from a second connection
    from django.db import connections

    seen_from_outside = []
    real_receive = inbox.receive

    def watching(*args, **kwargs):
        answer = real_receive(*args, **kwargs)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM billing_callrecord")
                seen_from_outside.append((connection.in_atomic_block, cursor.fetchone()[0]))
        finally:
            other.close()
        return answer

    # when
    with mock.patch("console.inbox.receive", watching):
        response = post_push(client, "fee", fee_push(fee(application)), application)
    # then: the CDR was committed (visible to another connection) before the 200 was built
    assert response.status_code == 200
    assert seen_from_outside == [(False, 1)]


def test_a_cdr_push_costs_a_fixed_number_of_queries_whatever_its_size(client, application):
    # given
    BindingFactory(application=application, subscription_id="sub-linked")
    small = fee_push(fee(application, subscriptionId="sub-linked"))
    large = fee_push(*[fee(application, subscriptionId="sub-linked") for _ in range(50)])
    # when
    with CaptureQueriesContext(connection) as one:
        post_push(client, "fee", small, application)
    with CaptureQueriesContext(connection) as fifty:
        post_push(client, "fee", large, application)
    # then: the application, the delivery, the CDRs linked to their bindings; the push's
    # transaction is a savepoint inside the test's
    assert len(one.captured_queries) == len(fifty.captured_queries)
    assert [q["sql"].split()[0] for q in fifty.captured_queries] == [
        "SELECT",
        "SAVEPOINT",
        "INSERT",
        "INSERT",
        "RELEASE",
    ]
    assert CallRecord.objects.filter(binding__isnull=False).count() == 51


# --- Block answers ------------------------------------------------------------------------------


def test_an_x_mode_block_callin_is_answered_with_the_bound_party(client):
    # given
    application = ApplicationFactory(mode="X")
    BindingFactory(
        application=application,
        a_number="+8618800000001",
        b_number="+8613300000003",
        x_number="+8617066660001",
    )
    # when
    response = post_push(client, "status", load_fixture("x_callin_block.json"), application)
    # then
    assert response.status_code == 200
    assert response.json() == {
        "operation": "connect",
        "connectInfo": {"calleeNum": "+8613300000003", "displayCalleeNum": "+8617066660001"},
    }
    assert Delivery.objects.get().answer == response.json()
    assert CallEvent.objects.get().notify_mode == "Block"


def test_an_sms_block_notice_is_answered_with_discard_when_the_rule_says_so(client):
    application = ApplicationFactory(mode="X", block_sms_rule="discard")
    response = post_push(
        client, "sms", load_fixture("sms_block_x.json", application.app_key), application
    )
    assert response.status_code == 200
    assert response.json() == {"actions": [{"operation": "DiscardMessage"}]}
    assert SmsRecord.objects.get().decision == "discard"


def test_a_retried_block_push_gets_the_same_answer_again(client):
    # given
    application = ApplicationFactory(mode="X")
    BindingFactory(application=application, a_number="+8618800000001", x_number="+8617066660001")
    body = json.dumps(load_fixture("sms_block_x.json", application.app_key)).encode()
    first = post_push(client, "sms", body, application)
    # when the binding is gone and the same notice comes again
    application.bindings.update(status="ended")
    again = post_push(client, "sms", body, application)
    # then
    assert again.json() == first.json()
    assert first.json()["actions"][0]["operation"] == "vNumberRoute"
    assert SmsRecord.objects.count() == 1
