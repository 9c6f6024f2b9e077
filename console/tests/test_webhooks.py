"""Webhooks out: the outbox row in the event's transaction, signed deliveries verified by the
``standardwebhooks`` verifier, retries with attempt rows, pausing with an alert, redelivery."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from console import teams, webhooks
from console.choices import AlertKind, WebhookState
from console.models import Alert, WebhookAttempt, WebhookDelivery, WebhookMessage
from console.testing import wait_until
from console.testing.factories import ApplicationFactory
from console.testing.receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.embedded]
A = "+8613800000001"


@pytest.fixture
def receiver():
    found = Receiver(webhooks.new_secret()).start()
    yield found
    found.stop()


def subscribe(application, receiver, **extra):
    subscription = application.webhook_subscriptions.model(
        application=application, url=receiver.url, **extra
    )
    subscription.set_secret(receiver.secret)
    subscription.save()
    return subscription


def emit(application, event_type="binding.active", **data):
    with transaction.atomic():
        webhooks.emit(application, event_type, {"a_number": A, **data})
    return WebhookDelivery.objects.select_related("message").latest("pk")


@pytest.mark.django_db
def test_nothing_is_written_without_a_subscription():
    application = ApplicationFactory()
    assert webhooks.emit(application, "binding.active", {}) == 0
    assert not WebhookMessage.objects.exists()


@pytest.mark.django_db
def test_the_application_knows_whether_anybody_subscribed(receiver):
    application = ApplicationFactory()
    subscription = subscribe(application, receiver)
    application.refresh_from_db()
    assert application.webhooks_on
    subscription.is_active = False
    subscription.save()
    application.refresh_from_db()
    assert not application.webhooks_on
    subscription.delete()
    application.refresh_from_db()
    assert not application.webhooks_on


@pytest.mark.django_db
def test_has_subscribers_answers_alike_outside_and_inside_a_teams_scope(receiver):
    # (outside a scope it is a prepared statement, inside the scoped manager decides)
    application, other = ApplicationFactory(), ApplicationFactory()
    subscription = subscribe(application, receiver)
    answers = []
    for scope in (None, frozenset({application.pk, other.pk})):
        with teams.scoped(scope):
            answers.append(
                [webhooks.has_subscribers(application.pk), webhooks.has_subscribers(other.pk)]
            )
    subscription.is_active = False
    subscription.save()
    for scope in (None, frozenset({application.pk, other.pk})):
        with teams.scoped(scope):
            answers.append([webhooks.has_subscribers(application.pk)])
    assert answers == [[True, False], [True, False], [False], [False]]


@pytest.mark.django_db
def test_the_outbox_row_belongs_to_the_events_transaction(
    receiver, django_capture_on_commit_callbacks
):
    application = ApplicationFactory()
    subscribe(application, receiver)

    # a change that rolls back announces nothing
    def failing_change() -> None:
        with transaction.atomic():
            webhooks.emit(application, "binding.active", {"id": 1})
            raise RuntimeError("the change failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        failing_change()
    assert not WebhookMessage.objects.exists()
    assert callbacks == []
    # a change that commits is announced once, its task queued after commit
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        assert webhooks.emit(application, "binding.active", {"id": 2}) == 1
    assert WebhookMessage.objects.get().payload["data"] == {"id": 2}
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_delivery_is_signed_the_standard_webhooks_way(receiver):
    application = ApplicationFactory()
    subscribe(application, receiver)
    delivery = emit(application)
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.DELIVERED
    assert delivery.attempts == 1
    assert receiver.bad == 0
    assert receiver.accepted == {delivery.message.msg_id: 1}
    event = receiver.events[delivery.message.msg_id]
    assert event["type"] == "binding.active"
    assert event["data"]["a_number"] != A  # masked: the subscription may not see real numbers
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 204


@pytest.mark.django_db
def test_a_wrong_secret_fails_verification(receiver):
    application = ApplicationFactory()
    subscription = subscribe(application, receiver)
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    delivery = emit(application)
    webhooks.deliver(delivery.pk)
    assert receiver.bad == 1
    assert not receiver.accepted


@pytest.mark.django_db
def test_real_numbers_only_to_a_subscription_allowed_them(receiver):
    application = ApplicationFactory()
    subscribe(application, receiver, real_numbers=True)
    delivery = emit(application)
    webhooks.deliver(delivery.pk)
    assert receiver.events[delivery.message.msg_id]["data"]["a_number"] == A


@pytest.mark.django_db
def test_a_failure_is_retried_with_backoff_until_it_is_given_up_and_redelivered(
    receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_DELAYS = [600, 3600]
    settings.WEBHOOK_RETRY_FOR_SECONDS = 24 * 3600
    receiver.fail_rate = 1.0
    application = ApplicationFactory()
    subscribe(application, receiver)
    delivery = emit(application)
    # when: the endpoint fails
    webhooks.deliver(delivery.pk)
    # then: an attempt row, a retry in 10 minutes left to the sweeper
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.RETRYING
    assert delivery.last_status_code == 500
    assert 590 < (delivery.next_attempt_at - delivery.created_at).total_seconds() < 610
    assert delivery.lease_until == delivery.next_attempt_at
    assert webhooks.deliver(delivery.pk) is not None  # early: nothing sent
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1
    # the second failure waits an hour (the last delay repeats)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    delivery.refresh_from_db()
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert 3590 < (delivery.next_attempt_at - delivery.created_at).total_seconds() < 3610
    # after a day of failures it is given up, kept, and an administrator sends it again
    WebhookMessage.objects.update(created_at=delivery.created_at.replace(year=2020))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    delivery.refresh_from_db()
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.FAILED
    receiver.fail_rate = 0.0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert webhooks.redeliver(WebhookDelivery.objects.filter(pk=delivery.pk)) == 1
    assert len(callbacks) == 1
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.DELIVERED
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 4


@pytest.mark.django_db
def test_a_failing_endpoint_is_paused_with_an_alert_and_nothing_is_dropped(receiver, settings):
    settings.WEBHOOK_PAUSE_AFTER_SECONDS = 0
    settings.WEBHOOK_RETRY_DELAYS = [3600]
    receiver.fail_rate = 1.0
    application = ApplicationFactory()
    subscription = subscribe(application, receiver)
    first = emit(application)
    webhooks.deliver(first.pk)
    subscription.refresh_from_db()
    assert subscription.paused_at is not None
    alert = Alert.objects.get(kind=AlertKind.WEBHOOK_PAUSED, resolved_at__isnull=True)
    assert alert.key == str(subscription.pk)
    # events keep being written while it is paused, and wait (not swept)
    second = emit(application, "binding.ended")
    assert second.lease_until is None
    assert not webhooks.stuck(second.created_at.replace(year=2100)).exists()
    # resumed: everything waiting goes out, the alert's own opening too (alert.opened)
    opened = WebhookDelivery.objects.get(message__event_type="alert.opened")
    assert opened.lease_until is None
    receiver.fail_rate = 0.0
    assert webhooks.resume(subscription) == 3
    for delivery in (first, opened, second):
        webhooks.deliver(delivery.pk)
    assert set(receiver.accepted) == {
        first.message.msg_id,
        opened.message.msg_id,
        second.message.msg_id,
    }
    assert not Alert.objects.filter(kind=AlertKind.WEBHOOK_PAUSED, resolved_at__isnull=True)
    # its resolution goes out with what follows the resume
    assert WebhookDelivery.objects.get(message__event_type="alert.resolved").lease_until


@pytest.mark.django_db
def test_a_busy_endpoint_lets_the_worker_go_on_to_other_events(receiver, settings):
    # given: the endpoint has all its requests open already (other workers wait on it)
    settings.WEBHOOK_MAX_IN_FLIGHT = 1
    application = ApplicationFactory()
    subscription = subscribe(application, receiver)
    delivery = emit(application)
    assert webhooks._take_slot(subscription.pk)
    # when
    webhooks.deliver(delivery.pk)
    # then: nothing sent, no attempt counted; it comes back later (a countdown task)
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.PENDING
    assert delivery.attempts == 0
    assert not receiver.requests
    # once the slot is free it goes out
    webhooks._release_slot(subscription.pk)
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_slow_endpoint_holds_a_worker_only_for_the_timeout(settings, celery_worker):
    # given: one endpoint that answers after 5 s, another at once; 0.5 s timeout
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_DELAYS = [3600]
    slow = Receiver(webhooks.new_secret(), delay=5).start()
    fast = Receiver(webhooks.new_secret()).start()
    try:
        application = ApplicationFactory()
        subscribe(application, slow)
        subscribe(application, fast)
        started = time.monotonic()
        with transaction.atomic():
            for index in range(3):
                webhooks.emit(application, "binding.active", {"id": index})
        # then: the fast endpoint has every event within a few timeouts, not 3 × 5 s
        wait_until(lambda: len(fast.accepted) == 3, timeout=10)
        assert time.monotonic() - started < 6
        # and each slow delivery was cut at its timeout and scheduled again: all three within a
        # few timeouts too (held for the endpoint's 5 s each, they would take 15 s)
        retrying = WebhookDelivery.objects.filter(state=WebhookState.RETRYING)
        wait_until(lambda: retrying.count() == 3, timeout=10)
        assert time.monotonic() - started < 12
    finally:
        slow.stop()
        fast.stop()


@pytest.mark.django_db
def test_a_batch_whose_worker_died_is_swept_after_its_lease_and_sent_once_each(receiver):
    from datetime import timedelta

    from console import jobs

    application = ApplicationFactory()
    subscribe(application, receiver)
    ids = [emit(application, id=i).pk for i in range(3)]
    # given: a worker claimed the batch, then died before sending anything
    assert len(webhooks._claim(webhooks._loaded(ids))) == 3
    lease = WebhookDelivery.objects.get(pk=ids[0]).lease_until
    # while its lease runs the sweeper leaves them alone
    assert not webhooks.stuck(lease - timedelta(seconds=1)).exists()
    # once it has run out the sweeper finds them and takes them over; each goes out once
    stuck = list(webhooks.stuck(lease + timedelta(seconds=1)))
    assert sorted(d.pk for d in stuck) == ids
    assert all(jobs.renew(delivery) for delivery in stuck)
    assert webhooks.deliver_many(ids) == 3
    assert webhooks.deliver_many(ids) == 0  # delivered: a late copy of the task sends nothing
    assert sorted(receiver.accepted.values()) == [1, 1, 1]
    assert WebhookAttempt.objects.filter(delivery__in=ids).count() == 3


@pytest.mark.django_db
def test_a_copy_of_the_task_loaded_while_another_worker_sends_does_not_claim_it(receiver):
    from datetime import timedelta

    from console import jobs

    application = ApplicationFactory()
    subscribe(application, receiver)
    ids = [emit(application, id=i).pk for i in range(2)]
    # given: a worker claimed the batch and is sending it
    assert len(webhooks._claim(webhooks._loaded(ids))) == 2
    claim = WebhookDelivery.objects.get(pk=ids[0]).lease_until
    # when: a second copy of the task loads them now (their lease is that claim) and claims
    late = webhooks._loaded(ids)
    assert {delivery.lease_until for delivery in late} == {claim}
    # then: it gets none of them and sends nothing
    assert webhooks._claim(late) == []
    assert webhooks.deliver_many(ids) == 0
    assert receiver.accepted == {}
    # once the claim's lease has run out (its worker died) the sweeper takes them over
    stuck = list(webhooks.stuck(claim + timedelta(seconds=1)))
    assert all(jobs.renew(delivery) for delivery in stuck)
    assert webhooks.deliver_many(ids) == 2
    assert sorted(receiver.accepted.values()) == [1, 1]
    assert not WebhookDelivery.objects.filter(pk__in=ids, claimed_until__isnull=False).exists()
