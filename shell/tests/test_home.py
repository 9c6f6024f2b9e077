"""The staff landing page at ``/`` (issue #7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing import services as billing_services
from billing.tests.factories import fee, unanswered
from bindings.tests.factories import BindingFactory
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing import KNOWN_PASSWORD
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo
from recordings.tests.factories import make_recording

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

A = "+8613810000001"
B = "+8613920000001"


@pytest.fixture
def data():
    application = ApplicationFactory(name="Ride AXB", mode="AXB")
    binding = BindingFactory(application=application, a_number=A, b_number=B, order_ref="RIDE-42")
    x = binding.x_number
    started = timezone.now() - timedelta(minutes=5)
    failed = unanswered(
        fee(
            application,
            started=started,
            subscriptionId=binding.subscription_id,
            callerNum=A,
            bindNum=x,
            calleeNum=x,
            fwdDstNum=B,
        ),
        release_point=8102,
        q850=17,
    )
    with transaction.atomic():
        billing_services.ingest_cdrs(application, [FeeInfo.model_validate(failed)])
    return binding


def signed_in(client, make_user, role):
    user = make_user("someone", role)
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_find_a_binding_and_its_calls_by_a_number_typed_any_way(client, make_user, data):
    client = signed_in(client, make_user, CUSTOMER_SERVICE)
    response = client.get("/", {"q": " 138-1000 0001 "})
    assert response.status_code == 200
    assert response.context["bindings"][0]["order_ref"] == "RIDE-42"
    assert len(response.context["calls"]) == 1
    body = response.content.decode()
    assert "RIDE-42" in body
    assert A not in body  # masked for customer service
    assert "+86138****0001" in body


def test_an_order_reference_finds_its_binding(client, make_user, data):
    client = signed_in(client, make_user, CUSTOMER_SERVICE)
    response = client.get("/", {"q": "RIDE-42"})
    assert [b["order_ref"] for b in response.context["bindings"]] == ["RIDE-42"]
    assert client.get("/", {"q": "RIDE-43"}).context["bindings"] == []


def test_failed_calls_show_their_decoded_cause_and_figures(client, make_user, data):
    client = signed_in(client, make_user, CUSTOMER_SERVICE)
    response = client.get("/")
    assert response.status_code == 200
    (_row, cause), *_ = response.context["failed"]
    assert cause.code == 8102
    assert cause.meaning
    assert cause.meaning in response.content.decode()
    assert "today" in response.context
    assert "at_risk" not in response.context  # customer service do not monitor recordings


def test_administrators_see_recordings_at_risk(client, make_user, data):
    make_recording(deadline=timezone.now() + timedelta(minutes=30))
    client = signed_in(client, make_user, NUMBER_ADMINISTRATOR)
    response = client.get("/")
    assert len(response.context["at_risk"]) == 1
    assert 'href="/recordings/at-risk/"' in response.content.decode()


def test_staff_without_permissions_see_only_the_search_box(client, make_user, data):
    client = signed_in(client, make_user, None)
    response = client.get("/", {"q": A})
    assert response.status_code == 200
    for part in ("bindings", "calls", "failed", "today", "at_risk"):
        assert part not in response.context
    assert "RIDE-42" not in response.content.decode()


def test_non_staff_users_are_refused(client, django_user_model):
    django_user_model.objects.create_user(username="u", password=KNOWN_PASSWORD)
    client.force_login(django_user_model.objects.get(username="u"))
    assert client.get("/").status_code == 403


def test_a_bindings_page_shows_its_calls_with_their_causes(client, make_user, data):
    client = signed_in(client, make_user, CUSTOMER_SERVICE)
    page = client.get(reverse("bindings:binding", args=[data.pk]))
    calls = [entry for entry in page.context["timeline"] if entry.kind == "call"]
    assert len(calls) == 1
    assert calls[0].ok is False
    assert calls[0].detail  # the release point 8102, explained
