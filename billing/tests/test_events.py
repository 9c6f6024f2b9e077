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
