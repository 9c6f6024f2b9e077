"""The issue's "done when", at its full size: an order system creates 1,000 bindings through
the API with retries and duplicate requests, ends them, and receives every webhook exactly once
per event id, verified with the ``standardwebhooks`` verifier, while its receiver fails 30 % of
requests and is restarted once. Nothing is lost, no binding is doubled.

Real PostgreSQL, Redis, a real Celery worker (binds, unbinds and deliveries), the simulator.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from bindings.choices import BindingStatus
from bindings.models import Binding
from console import webhooks
from console.choices import ApiScope, WebhookState
from console.models import WebhookDelivery, WebhookMessage, WebhookSubscription
from console.testing import wait_until
from console.testing.receiver import Receiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),  # 1,000 orders: about three minutes on a quiet machine
]
ORDERS = 1000


def test_an_order_system_creates_and_ends_bindings_and_hears_every_event_once(
    platform, api_client, celery_worker, settings
):
    # given: short retries (the schedule's shape, not its length), a flaky receiver
    settings.WEBHOOK_RETRY_DELAYS = [0.2, 0.5, 1.0]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.X_COOLDOWN_SECONDS = 0
    receiver = Receiver(webhooks.new_secret(), fail_rate=0.3).start()
    application = platform.application("AXB")
    subscription = WebhookSubscription(application=application, url=receiver.url)
    subscription.set_secret(receiver.secret)
    subscription.save()
    # the key is made for the order system's rate (the default limit would answer 429)
    client = api_client(
        [application], [ApiScope.BINDINGS_READ, ApiScope.BINDINGS_WRITE], rate_per_minute=100_000
    )
    chance = random.Random(15)
    # every order is sent once, and a third of them again (a retry after a lost answer), some
    # twice at the same moment
    sends = list(range(ORDERS)) + [i for i in range(ORDERS) if chance.random() < 0.33]
    chance.shuffle(sends)
    answers: list[tuple[int, int, int]] = []
    lock = threading.Lock()

    def send(order: int) -> None:
        try:
            response = client.post(
                "/api/v1/bindings/",
                {
                    "application": application.pk,
                    "a_number": f"+86138{order:08d}",
                    "b_number": f"+86139{order:08d}",
                    "area_code": "0755",
                    "order_ref": f"order-{order}",
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"create-{order}",
            )
            with lock:
                answers.append((order, response.status_code, response.json().get("id")))
        finally:
            connection.close()

    try:
        # when: the orders come in from 8 threads; the receiver restarts half way
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, sends[: len(sends) // 2]))
            receiver.restart(down_for=1.0)
            list(pool.map(send, sends[len(sends) // 2 :]))
        assert {code for _o, code, _id in answers} <= {201, 202}, Counter(
            code for _o, code, _id in answers
        )
        per_order: dict[int, set[int]] = {}
        for order, _code, binding_id in answers:
            per_order.setdefault(order, set()).add(binding_id)
        assert all(len(ids) == 1 for ids in per_order.values()), "a duplicate made a binding"
        assert Binding.objects.count() == ORDERS
        wait_until(
            lambda: Binding.objects.filter(status=BindingStatus.ACTIVE).count() == ORDERS,
            timeout=300,
        )
        # then the orders are done: each binding ended, a few ends sent twice
        ids = [next(iter(found)) for found in per_order.values()]

        def end(binding_id: int) -> int:
            try:
                return client.post(f"/api/v1/bindings/{binding_id}/end/").status_code
            finally:
                connection.close()

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(end, ids + ids[:20]))
        assert Counter(codes) == {202: ORDERS, 422: 20}
        wait_until(
            lambda: Binding.objects.filter(status=BindingStatus.ENDED).count() == ORDERS,
            timeout=300,
        )
        # then: every event delivered, each accepted once, every signature good
        wait_until(
            lambda: not WebhookDelivery.objects.exclude(state=WebhookState.DELIVERED).exists(),
            timeout=300,
        )
        messages = dict(WebhookMessage.objects.values_list("msg_id", "event_type"))
        assert len(messages) == 3 * ORDERS
        assert Counter(messages.values()) == {
            "binding.created": ORDERS,
            "binding.active": ORDERS,
            "binding.ended": ORDERS,
        }
        assert set(receiver.accepted) == set(messages)
        assert set(receiver.accepted.values()) == {1}
        assert receiver.bad == 0
        assert receiver.requests > len(messages)  # the failures were real and retried
        for event_type in ("binding.created", "binding.active", "binding.ended"):
            bound = {receiver.events[m]["data"]["id"] for m in receiver.by_type[event_type]}
            assert bound == set(ids)
        assert len(platform.control.bindings()) == 0  # every binding unbound on the platform
    finally:
        receiver.stop()
