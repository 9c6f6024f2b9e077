"""A CDR's ingest announces call.completed, billed and explained, in the ingest's transaction."""

from __future__ import annotations

import pytest

from billing.tests.factories import make_record, unanswered
from console import webhooks
from console.models import WebhookMessage, WebhookSubscription
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_an_ingested_cdr_is_announced_once_billed_and_explained():
    application = ApplicationFactory()
    subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/")
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    application.refresh_from_db()  # the ingest reads the application's webhooks_on flag
    record = make_record(application, talk=61)
    message = WebhookMessage.objects.get(event_type="call.completed")
    data = message.payload["data"]
    assert data["id"] == record.pk
    assert data["billable_minutes"] == 2
    assert data["outcome"] == "answered"
    assert set(data["reasons"]) == {"en", "zh-hans"}


def test_a_failed_call_carries_why():
    from billing import services
    from billing.tests.factories import fee
    from privatenumber.schemas import FeeInfo

    application = ApplicationFactory()
    subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/")
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    application.refresh_from_db()
    body = unanswered(fee(application))
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)])  # the platform retried
    message = WebhookMessage.objects.get(event_type="call.completed")
    reasons = message.payload["data"]["reasons"]["en"]
    # no binding behind it (8014), the release point, the Q.850 cause
    assert [r["code"] for r in reasons] == [8014, 8102, 17]
    assert all(r["meaning"] for r in reasons)


def test_without_a_subscription_the_ingest_pays_nothing_for_events(django_assert_num_queries):
    from billing import services
    from billing.tests.factories import fee
    from privatenumber.schemas import FeeInfo

    application = ApplicationFactory()
    with django_assert_num_queries(1):  # the one insert statement of the batch
        services.ingest_cdrs(application, [FeeInfo.model_validate(fee(application))])
    assert not WebhookMessage.objects.exists()


# --- call.event and sms.received: from the push, in its transaction -----------------------------


def subscribed(**fields):
    application = ApplicationFactory(**fields)
    subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/")
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    return application, subscription


def test_each_call_event_push_is_announced_once_with_its_binding_and_masked_parties(client):
    from bindings.tests.factories import BindingFactory
    from console.models import WebhookDelivery
    from console.testing.factories import load_fixture, post_push

    application, _subscription = subscribed(mode="AXB")
    callin = load_fixture("axb_callin.json")
    info = callin["statusInfo"]
    binding = BindingFactory(
        application=application,
        a_number=info["caller"],
        x_number=info["called"],
        b_number="+8613800000021",
        subscription_id=info["subscriptionId"],
    )
    for name in ("axb_callin", "axb_callout", "axb_alerting", "axb_answer", "axb_disconnect"):
        assert (
            post_push(client, "status", load_fixture(f"{name}.json"), application).status_code
            == 200
        )
    # the platform retries one with another body (a fresh header): the event is stored already
    again = load_fixture("axb_answer.json")
    again["statusInfo"]["userData"] = "retried"
    assert post_push(client, "status", again, application).status_code == 200

    messages = WebhookMessage.objects.filter(event_type="call.event").order_by("pk")
    assert [m.payload["data"]["event_type"] for m in messages] == [
        "callin",
        "callout",
        "alerting",
        "answer",
        "disconnect",
    ]
    first = messages[0].payload["data"]
    assert first["binding"] == binding.pk
    assert first["subscription_id"] == info["subscriptionId"]
    assert (first["caller_num"], first["x_number"]) == (info["caller"], info["called"])
    assert messages[4].payload["data"]["state_desc"] == "The user releases the call."
    # delivered masked: the subscription may not see real numbers (X is shown in full)
    body = webhooks.body_for(WebhookDelivery.objects.filter(message=messages[0]).get())
    assert info["caller"] not in body
    assert f'"x_number":"{info["called"]}"' in body


def test_a_call_event_of_an_application_nobody_subscribed_to_costs_no_query_for_events(
    client, django_assert_num_queries
):
    from billing import services
    from console.testing.factories import load_fixture
    from privatenumber.schemas import CallEventPush

    application = ApplicationFactory(mode="AXB")
    push = CallEventPush.model_validate(load_fixture("axb_callin.json"))
    with django_assert_num_queries(1):  # the insert
        services.record_call_event(application, push)
    assert not WebhookMessage.objects.exists()


def test_a_block_sms_is_announced_with_the_decision_and_why(client):
    from bindings.tests.factories import BindingFactory
    from console.testing.factories import load_fixture, post_push

    application, _subscription = subscribed(mode="X")
    caller, x, b = "+8618800000001", "+8617066660001", "+8613300000003"
    BindingFactory(application=application, a_number=caller, b_number=b, x_number=x)
    body = load_fixture("sms_block_x.json", application.app_key)
    response = post_push(client, "sms", body, application)
    assert response.status_code == 200
    assert response.json()["actions"][0]["operation"] == "vNumberRoute"
    (message,) = WebhookMessage.objects.filter(event_type="sms.received")
    data = message.payload["data"]
    assert (data["decision"], data["reason"]) == ("forward", "bound")
    assert (data["caller_num"], data["x_number"], data["fwd_dst_num"]) == (caller, x, b)

    # a sender nobody is bound to: discarded, and the event says why
    stranger = load_fixture("sms_block_x.json", application.app_key)
    stranger["smsEvent"].update(smsIdentifier="5" * 32, calling="+8618800000099")
    assert post_push(client, "sms", stranger, application).status_code == 200
    data = WebhookMessage.objects.filter(event_type="sms.received").latest("pk").payload["data"]
    assert (data["decision"], data["reason"], data["fwd_dst_num"]) == ("discard", "no_receiver", "")

    # the same notice pushed again: stored once, announced once
    stranger["smsEvent"]["event"] = "Text SMS"
    post_push(client, "sms", stranger, application)
    assert WebhookMessage.objects.filter(event_type="sms.received").count() == 2


def test_a_notify_sms_is_announced_with_no_decision(client):
    from console.testing.factories import load_fixture, post_push

    application, _subscription = subscribed(mode="AXB")
    body = load_fixture("sms_notify_axb.json", application.app_key)
    assert post_push(client, "sms", body, application).status_code == 200
    data = WebhookMessage.objects.get(event_type="sms.received").payload["data"]
    assert (data["decision"], data["reason"], data["notification_mode"]) == ("", "", "Notify")
    assert data["caller_num"] == body["smsEvent"]["calling"]


def test_a_block_sms_to_a_blacklisted_party_is_announced_as_discarded_for_that_reason(client):
    from bindings.services import safeguards
    from bindings.tests.factories import BindingFactory
    from console.testing.factories import load_fixture, post_push

    application, _subscription = subscribed(mode="X")
    caller, x, b = "+8618800000001", "+8617066660001", "+8613300000003"
    BindingFactory(application=application, a_number=caller, b_number=b, x_number=x)
    safeguards.blacklist_number(b, "complaints", application=application)
    body = load_fixture("sms_block_x.json", application.app_key)
    response = post_push(client, "sms", body, application)
    assert response.json()["actions"][0]["operation"] == "DiscardMessage"
    data = WebhookMessage.objects.get(event_type="sms.received").payload["data"]
    assert (data["decision"], data["reason"], data["fwd_dst_num"]) == ("discard", "blacklisted", "")
