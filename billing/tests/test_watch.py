"""The watch (console.watch) driven by real pushes that cannot be applied (issue 16's alert
sources; the platform link: bindings/tests/test_watch.py)."""

from __future__ import annotations

import pytest

from billing.tests.factories import fee, fee_push
from console import watch
from console.choices import AlertKind
from console.models import Alert, Delivery
from console.testing import push_handler
from console.testing.factories import ApplicationFactory, post_push


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, resolved_at__isnull=True))


@pytest.mark.postgres
@pytest.mark.embedded
@pytest.mark.django_db
def test_a_push_that_could_not_be_applied_opens_an_alert_until_it_is_applied(client):
    application = ApplicationFactory(mode="AXB")

    def broken(application, push, *, delivery):
        raise RuntimeError("disk full")

    body = fee_push(fee(application))
    with push_handler("fee", broken):
        assert post_push(client, "fee", body, application).status_code == 500
    assert watch.check_failed_pushes() == 1
    [alert] = open_alerts(AlertKind.PUSHES_FAILED)
    assert alert.params["count"] == 1
    # the platform's retry after the fix applies it: the alert resolves at the next check
    assert post_push(client, "fee", body, application).status_code == 200
    assert Delivery.objects.get().state == "processed"
    assert watch.check_failed_pushes() == 0
    alert.refresh_from_db()
    assert alert.resolved_at is not None
