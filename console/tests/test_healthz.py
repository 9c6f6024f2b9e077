"""/healthz reports each part and names the failing one."""

from __future__ import annotations

import time

import pytest
from celery.signals import worker_ready
from django.core.cache import cache
from django.test import override_settings

from console.health import HEARTBEAT_CACHE_KEY


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_it_answers_503_naming_redis_when_the_broker_port_is_closed(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert "redis" in body["failing"]
    assert body["checks"]["database"]["ok"] is True
    assert "Connection" in body["checks"]["redis"]["detail"]


@pytest.mark.redis
@pytest.mark.postgres
def test_it_answers_200_when_database_redis_and_a_worker_are_up(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["failing"] == []
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert "answered" in body["checks"]["workers"]["detail"]


@pytest.mark.redis
@pytest.mark.django_db
def test_it_answers_503_naming_the_workers_when_none_runs(client):
    # A heartbeat left in the cache by an earlier test would count as a live worker.
    cache.delete(HEARTBEAT_CACHE_KEY)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="filesystem://")
def test_with_the_filesystem_fallback_a_recent_heartbeat_means_workers_are_up(client):
    from console.tasks import record_worker_heartbeat_task

    assert client.get("/healthz").json()["failing"] == ["workers"]
    record_worker_heartbeat_task()  # what beat triggers on a worker every 30 s
    body = client.get("/healthz").json()
    assert body["failing"] == [], body
    assert body["checks"]["redis"]["detail"].startswith("not used")


def test_it_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_has_just_started_is_reported_up_at_once(client, celery_worker):
    # given no heartbeat yet (on the filesystem broker /healthz cannot ping workers)
    cache.delete(HEARTBEAT_CACHE_KEY)
    # when the worker announces it is ready, as `celery worker` does once it consumes
    worker_ready.send(sender=None)
    # then its first task records the heartbeat, without waiting 30 s for beat
    deadline = time.monotonic() + 15
    while cache.get(HEARTBEAT_CACHE_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    body = client.get("/healthz").json()
    assert body["checks"]["workers"]["ok"] is True, body
