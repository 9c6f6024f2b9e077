"""The bindings API: the same form and services as the pages, scopes, masking, idempotency,
problem details, rate limits, and a create that waits for the worker."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from bindings.choices import BindingStatus
from bindings.models import Binding
from console.choices import ApiScope
from console.models import AuditLog, IdempotencyKey
from console.numbers import mask

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

READ, WRITE, REAL = ApiScope.BINDINGS_READ, ApiScope.BINDINGS_WRITE, ApiScope.NUMBERS_REAL
A, B = "+8613800000001", "+8613900000001"


def create(client, application, *, key=None, wait=None, **fields):
    body = {"application": application.pk, "a_number": A, "b_number": B, **fields}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    url = "/api/v1/bindings/" + (f"?wait={wait}" if wait is not None else "")
    return client.post(url, body, format="json", **headers)


def test_it_creates_an_axb_binding_pending_with_a_status_url(platform, api_client):
    # given
    application = platform.application("AXB")
    client = api_client([application], [READ, WRITE])
    # when
    response = create(client, application, area_code="0755", order_ref="order-1")
    # then: no worker here, so the binding is pending: 202 and where to look
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["x_number"].startswith("+86170000")
    assert response["Location"].endswith(f"/api/v1/bindings/{body['id']}/")
    binding = Binding.objects.get()
    assert binding.order_ref == "order-1"
    assert binding.created_by is None
    row = AuditLog.objects.get(action="create", target_type__model="binding")
    assert row.username == f"api:{client.api_key.name}"
    assert row.user is None


@pytest.mark.parametrize("mode", ["AXB", "AX", "AXE", "AXYB"])
def test_every_mode_is_created_through_its_own_form(platform, api_client, mode):
    application = platform.application(mode)
    client = api_client([application], [WRITE])
    fields = {"b_number": B} if mode in ("AXB", "AXYB") else {"b_number": None}
    response = create(client, application, lifetime=30, **fields)
    assert response.status_code == 202, response.content
    binding = Binding.objects.get(pk=response.json()["id"])
    assert binding.mode == mode
    assert binding.duration == 30 * 60


@pytest.mark.embedded
def test_a_field_error_is_a_problem_detail_in_the_language_asked_for(platform, api_client):
    application = platform.application("AXB")
    client = api_client([application], [WRITE])
    for language, words in (("en", "not a mainland city code"), ("zh-hans", "不是")):
        response = client.post(
            "/api/v1/bindings/",
            {"application": application.pk, "a_number": A, "b_number": B, "area_code": "9999"},
            format="json",
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "urn:pnc:problem:validation"
        assert problem["status"] == 400
        assert [e["field"] for e in problem["errors"]] == ["area_code"]
        assert words in problem["errors"][0]["message"], problem
    assert not Binding.objects.exists()


def test_a_console_refusal_names_its_rule(platform, api_client):
    application = platform.application("AXB")
    client = api_client([application], [WRITE])
    application.is_active = False
    application.save()
    response = create(client, application)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "refused"
    assert problem["rule"] == "application_inactive"


def test_scopes_applications_and_revocation(platform, api_client):
    application, other = platform.application("AXB"), platform.application("AX")
    reader = api_client([application], [READ])
    # a read-only key cannot create
    response = create(reader, application)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    # a key of one application cannot create in another, nor see its bindings
    writer = api_client([application], [READ, WRITE])
    assert create(writer, other, b_number=None).status_code == 400
    theirs = api_client([other], [READ, WRITE])
    made = create(theirs, other, b_number=None).json()
    assert writer.get(f"/api/v1/bindings/{made['id']}/").status_code == 404
    # no key, a wrong key, a revoked key
    from rest_framework.test import APIClient

    from console import apikeys

    assert APIClient().get("/api/v1/bindings/").status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer pnc_nothing_here")
    assert wrong.get("/api/v1/bindings/").status_code == 401
    assert reader.get("/api/v1/bindings/").status_code == 200
    apikeys.revoke(reader.api_key)
    response = reader.get("/api/v1/bindings/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_token_is_kept_only_as_its_hash(platform, api_client):
    client = api_client([platform.application("AXB")], [READ])
    key = client.api_key
    key.refresh_from_db()
    assert client.token not in (key.hashed_key, key.prefix)
    assert client.token.startswith("pnc_")
    assert len(key.hashed_key) == 64
    assert key.prefix in client.token
    client.get("/api/v1/bindings/")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_numbers_are_masked_unless_the_key_has_the_real_number_scope(platform, api_client):
    application = platform.application("AXB")
    masked = api_client([application], [READ, WRITE])
    made = create(masked, application).json()
    assert made["a_number"] == mask(A) != A
    assert made["b_number"] == mask(B)
    real = api_client([application], [READ, REAL])
    before = AuditLog.objects.filter(action="reveal").count()
    shown = real.get("/api/v1/bindings/").json()["results"][0]
    assert shown["a_number"] == A
    assert shown["b_number"] == B
    # the same rule as the pages: one audit row per request that showed a full number
    assert AuditLog.objects.filter(action="reveal").count() == before + 1
    assert masked.get("/api/v1/bindings/", {"a_number": "138 0000 0001"}).json()["results"]
    # a real number is looked up by its exact value only
    assert not masked.get("/api/v1/bindings/", {"a_number": "1380000"}).json()["results"]
    assert masked.get("/api/v1/bindings/", {"a_number__startswith": "+86138"}).json()["results"], (
        "unknown parameters are ignored, never turned into lookups"
    )


def test_the_list_pages_by_cursor_and_filters(platform, api_client):
    application = platform.application("AX")
    client = api_client([application], [READ, WRITE])
    ids = [
        create(client, application, b_number=None, a_number=f"+86138000000{i:02d}").json()["id"]
        for i in range(5)
    ]
    seen, url = [], "/api/v1/bindings/?limit=2"
    while url:
        page = client.get(url).json()
        seen += [b["id"] for b in page["results"]]
        url = page["next"]
    assert seen == sorted(ids, reverse=True)
    assert client.get("/api/v1/bindings/", {"status": "active"}).json()["results"] == []
    assert len(client.get("/api/v1/bindings/", {"status": "pending"}).json()["results"]) == 5
    assert client.get("/api/v1/bindings/", {"created_after": "yesterday"}).status_code == 400
    assert client.get("/api/v1/bindings/", {"application": "mine"}).status_code == 400


def test_a_retried_create_with_the_same_key_or_order_answers_the_first(platform, api_client):
    application = platform.application("AXB")
    client = api_client([application], [READ, WRITE])
    first = create(client, application, key="k-1")
    again = create(client, application, key="k-1")
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    # the same order again under a new key, the numbers typed another way: the same request
    by_order = [
        create(client, application, order_ref="o-7", key=key, a_number=a_number)
        for key, a_number in (("k-2", A), ("k-3", "138 0000 0001"))
    ]
    assert by_order[0].json()["id"] == by_order[1].json()["id"]
    assert by_order[1]["Idempotent-Replayed"] == "true"
    assert Binding.objects.count() == 2
    assert IdempotencyKey.objects.count() == 3  # k-1, k-2, o-7


def test_a_key_or_an_order_reused_for_another_request_is_refused(platform, api_client):
    # given: a binding made under key k-1 and order o-1
    application = platform.application("AXB")
    client = api_client([application], [READ, WRITE])
    first = create(client, application, key="k-1", order_ref="o-1").json()
    audited = AuditLog.objects.count()
    # when: the same key comes with another body (another B)
    reused = create(client, application, key="k-1", order_ref="o-1", b_number="+8613900000099")
    # then: 422, naming the key, and nothing made
    assert reused.status_code == 422, reused.content
    assert reused["Content-Type"] == "application/problem+json"
    problem = reused.json()
    assert problem["code"] == "idempotency_key_reused"
    assert problem["type"] == "urn:pnc:problem:idempotency_key_reused"
    assert problem["idempotency_key"] == "k-1"
    assert problem["binding"] == first["id"]
    assert "k-1" in problem["detail"]
    assert problem["title"] == "该 Idempotency-Key 已用于另一个请求。"  # zh-hans by default
    english = client.post(
        "/api/v1/bindings/",
        {"application": application.pk, "a_number": A, "b_number": B, "order_ref": "o-2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert english["title"] == "This Idempotency-Key was used for another request."
    # the same order under a new key with other fields: refused too, naming the binding
    moved = create(client, application, key="k-2", order_ref="o-1", b_number="+8613900000099")
    assert moved.status_code == 422, moved.content
    assert moved.json()["code"] == "order_ref_reused"
    assert moved.json()["order_ref"] == "o-1"
    assert moved.json()["binding"] == first["id"]
    assert Binding.objects.count() == 1
    assert AuditLog.objects.count() == audited
    assert set(IdempotencyKey.objects.values_list("value", flat=True)) == {"k-1", "o-1"}
    # the very same request still replays the first binding
    again = create(client, application, key="k-1", order_ref="o-1")
    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    # a key stored before fingerprints were kept replays whatever the body, as it used to
    IdempotencyKey.objects.update(fingerprint="")
    old = create(client, application, key="k-1", order_ref="o-1", b_number="+8613900000099")
    assert old.status_code == 202
    assert old.json()["id"] == first["id"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_never_make_a_second_binding(platform, api_client):
    # given: 12 clients send the same create at once, 3 keys × 4 copies (a retry storm)
    application = platform.application("AXB")
    client = api_client([application], [READ, WRITE])
    barrier = threading.Barrier(12)
    results: list[tuple[int, int]] = []

    def send(index: int) -> None:
        try:
            barrier.wait()
            response = create(
                client,
                application,
                key=f"storm-{index % 3}",
                b_number=f"+8613900000{index % 3:03d}",
            )
            results.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: three bindings, every copy answered with its key's one
    assert len(results) == 12
    assert Counter(status for status, _id in results) == {202: 12}
    assert len({binding_id for _s, binding_id in results}) == 3
    assert Binding.objects.count() == 3


def test_modify_and_end_go_through_the_services(platform, api_client):
    application = platform.application("AX")
    client = api_client([application], [READ, WRITE])
    made = create(client, application, b_number=None).json()
    Binding.objects.filter(pk=made["id"]).update(status=BindingStatus.ACTIVE)
    url = f"/api/v1/bindings/{made['id']}/"
    changed = client.patch(url, {"order_ref": "moved"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["order_ref"] == "moved"
    refused = client.patch(url, {"a_number": B}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "a_number"
    ended = client.post(f"{url}end/")
    assert ended.status_code == 202
    assert ended.json()["status"] == "ending"
    again = client.post(f"{url}end/")
    assert again.status_code == 422
    assert again.json()["rule"] == "not_active"
    assert AuditLog.objects.filter(username=f"api:{client.api_key.name}").count() == 3


def test_over_the_rate_limit_it_answers_429_with_retry_after(platform, api_client, one_rate_window):
    client = api_client([platform.application("AXB")], [READ], rate_per_minute=3)
    codes = [client.get("/api/v1/bindings/").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3] == 429
    response = client.get("/api/v1/bindings/")
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db(transaction=True)
def test_create_waits_for_the_worker_and_answers_x(platform, api_client, celery_worker):
    application = platform.application("AXB")
    client = api_client([application], [READ, WRITE])
    response = create(client, application, wait=5)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "active"
    assert body["subscription_id"]


@pytest.mark.django_db(transaction=True)
def test_a_platform_refusal_carries_its_code_and_meaning(platform, api_client, celery_worker):
    application = platform.application("AXB")
    client = api_client([application], [READ, WRITE])
    platform.control.set_faults("axb.bind", error_rate=1, error_code="1010002", times=1)
    response = create(client, application, wait=5)
    assert response.status_code == 422, response.content
    problem = response.json()
    assert problem["code"] == "platform_refused"
    assert problem["platform_code"] == "1010002"
    assert problem["meaning"]["en"]
    assert problem["meaning"]["zh-hans"]
    assert problem["binding"]["status"] == "failed"


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_a_create_waits_for_x_and_its_webhooks_follow_on_any_configuration(
    platform, api_client, celery_worker, settings
):
    # the `make run` configuration too (SQLite, filesystem broker): the same flow end to end
    from console import webhooks
    from console.models import WebhookSubscription
    from console.testing import wait_until
    from console.testing.receiver import Receiver

    settings.WEBHOOK_RETRY_DELAYS = [0.2]
    receiver = Receiver(webhooks.new_secret()).start()
    try:
        application = platform.application("AXB")
        subscription = WebhookSubscription(application=application, url=receiver.url)
        subscription.set_secret(receiver.secret)
        subscription.save()
        client = api_client([application], [READ, WRITE])
        response = create(client, application, key="embedded-1", wait=5)
        assert response.status_code == 201, response.content
        assert create(client, application, key="embedded-1").json()["id"] == response.json()["id"]
        wait_until(lambda: len(receiver.accepted) == 2, timeout=20)
        assert set(receiver.by_type) == {"binding.created", "binding.active"}
        assert receiver.bad == 0
    finally:
        receiver.stop()
