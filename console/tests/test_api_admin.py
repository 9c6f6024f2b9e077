"""The admin pages of the API keys and webhooks: a key's token and a subscription's secret are
shown once, revoking and redelivering are audited, number administrators manage them."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from console import apikeys, webhooks
from console.choices import ApiScope, WebhookState
from console.models import ApiKey, AuditLog, WebhookDelivery, WebhookSubscription
from console.roles import NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def administrator(client, make_user):
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    return client


def shown(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_new_key_is_shown_once_and_kept_as_its_hash(administrator):
    application = ApplicationFactory()
    response = administrator.post(
        "/admin/console/apikey/add/",
        {
            "name": "order system",
            "applications": [application.pk],
            "scopes": [ApiScope.BINDINGS_READ, ApiScope.BINDINGS_WRITE],
            "rate_per_minute": "",
        },
    )
    assert response.status_code == 302
    token = re.search(r"pnc_[0-9a-f]{8}_[\w-]+", shown(response)).group(0)
    key = ApiKey.objects.get()
    assert key.hashed_key == apikeys.hash_token(token)
    assert apikeys.key_for(token) == key
    # shown on the page after saving, once; never again
    first = administrator.get(f"/admin/console/apikey/{key.pk}/change/").content.decode()
    again = administrator.get(f"/admin/console/apikey/{key.pk}/change/").content.decode()
    assert token in first
    assert token not in again
    assert AuditLog.objects.filter(action="create", target_repr__startswith="order system")


def test_revoking_a_key_stops_it_and_is_audited(administrator):
    application = ApplicationFactory()
    key, token = apikeys.create_key("k", applications=[application], scopes=["bindings:read"])
    assert apikeys.key_for(token) == key  # in use: now kept in the cache
    response = administrator.post(
        "/admin/console/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    assert apikeys.key_for(token) is None  # the cached key went with the revocation
    assert AuditLog.objects.filter(action="revoke", target_id=str(key.pk)).exists()


def test_a_subscription_gets_a_secret_shown_once(administrator):
    application = ApplicationFactory()
    response = administrator.post(
        "/admin/console/webhooksubscription/add/",
        {
            "application": application.pk,
            "url": "https://orders.example.com/hooks",
            "events": ["binding.active", "binding.ended"],
            "is_active": "on",
            "secret": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", shown(response)).group(0)
    subscription = WebhookSubscription.objects.get()
    assert subscription.get_secret() == secret
    assert secret not in subscription.secret_encrypted
    assert subscription.events == ["binding.active", "binding.ended"]


def test_an_administrator_redelivers_a_delivery(administrator, django_capture_on_commit_callbacks):
    application = ApplicationFactory()
    subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/")
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    webhooks.emit(application, "binding.active", {"id": 1})
    WebhookDelivery.objects.update(state=WebhookState.FAILED, lease_until=None)
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = administrator.post(
            "/admin/console/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == WebhookState.PENDING
    assert len(callbacks) >= 1
    assert AuditLog.objects.filter(action="redeliver").count() == 1
    page = administrator.get(f"/admin/console/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200


def test_a_cached_key_follows_every_change_to_it():
    first, second = ApplicationFactory(), ApplicationFactory()
    key, token = apikeys.create_key("k", applications=[first], scopes=["bindings:read"])
    assert apikeys.key_for(token).application_ids == [first.pk]
    # its applications changed (from either side), its scopes changed, then it is deleted
    key.applications.add(second)
    assert sorted(apikeys.key_for(token).application_ids) == sorted([first.pk, second.pk])
    second.api_keys.remove(key)  # from the application's side
    assert apikeys.key_for(token).application_ids == [first.pk]
    key.scopes = ["bindings:read", "calls:read"]
    key.save()
    assert apikeys.key_for(token).scopes == ["bindings:read", "calls:read"]
    key.delete()
    assert apikeys.key_for(token) is None
