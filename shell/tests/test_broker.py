"""The broker's transport (``shell.broker``) keeps one Redis client per channel and still
delivers every message, in order, also after its pool was replaced (as after a fork)."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.conf import settings
from kombu import Connection

from shell import broker

pytestmark = [pytest.mark.redis]


def test_the_celery_app_publishes_through_the_kept_client_transport():
    from shell.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_messages_go_through_one_kept_client_and_all_arrive_in_order(monkeypatch):
    built = []
    create = broker.Channel._create_client

    def counting(self, asynchronous=False):
        client = create(self, asynchronous)
        built.append(client)
        return client

    monkeypatch.setattr(broker.Channel, "_create_client", counting)
    name = f"test-broker-{uuid.uuid4().hex}"
    with Connection(settings.CELERY_BROKER_URL, transport=broker.Transport) as connection:
        queue = connection.SimpleQueue(name)
        channel = queue.channel
        try:
            queue.put({"n": 1})
            kept = channel._kept_client
            queue.put({"n": 2})
            queue.put({"n": 3})
            assert channel._kept_client is kept
            assert sum(client is kept for client in built) == 1
            # the pool replaced, as kombu does after a fork: a new client on the new pool
            channel._disconnect_pools()
            queue.put({"n": 4})
            assert channel._kept_client is not kept
            assert channel._kept_client.connection_pool is channel.pool
            received = []
            for _ in range(4):
                message = queue.get(timeout=5)
                received.append(message.payload["n"])
                message.ack()
            assert received == [1, 2, 3, 4]
        finally:
            queue.clear()
            queue.close()
            redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(name)
