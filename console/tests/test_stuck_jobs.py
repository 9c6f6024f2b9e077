"""Administrators see the jobs whose worker lease ran out and send them again at once (issue 13:
nothing in the UI could recover a lost bind, import or fetch)."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bindings.choices import BindingStatus
from bindings.models import Binding
from bindings.tests.factories import BindingFactory
from console import jobs
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def sent(monkeypatch):
    """What would go to the broker."""
    queued = []
    monkeypatch.setattr(
        jobs, "send", lambda task, *args, job=None, **kw: queued.append((task.name, args)) or True
    )
    return queued


@pytest.fixture
def staff_client(make_user):
    from django.test import Client

    client = Client()
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    return client


@pytest.fixture
def stuck():
    return BindingFactory(
        status=BindingStatus.PENDING,
        subscription_id=None,
        lease_until=timezone.now() - timedelta(minutes=1),
    )


def test_administrators_are_told_on_the_console_page(boss, staff_client, stuck):
    page = boss.get(reverse("home")).content.decode()
    assert reverse("stuck_jobs") in page
    assert "stuck-jobs-note" in page
    assert "stuck-jobs-note" not in staff_client.get(reverse("home")).content.decode()


def test_an_administrator_retries_a_stuck_bind_now_and_it_is_audited(boss, stuck, sent):
    # given
    page = boss.get(reverse("stuck_jobs"))
    assert page.status_code == 200
    assert f"#{stuck.pk}" in page.content.decode()
    # when
    response = boss.post(reverse("stuck_jobs"), {"kind": "binding", "job": str(stuck.pk)})
    # then
    assert response.status_code == 302
    assert sent == [("bindings.tasks.bind_binding_task", (stuck.pk,))]
    assert Binding.objects.get(pk=stuck.pk).lease_until > timezone.now()
    row = AuditLog.objects.get()
    assert (row.action, row.username, row.details) == ("reprocess", "boss", {"job": "binding"})
    # and a job no longer stuck is not sent again
    boss.post(reverse("stuck_jobs"), {"kind": "binding", "job": str(stuck.pk)})
    assert len(sent) == 1


def test_customer_service_can_neither_see_nor_retry_stuck_jobs(staff_client, stuck, sent):
    assert staff_client.get(reverse("stuck_jobs")).status_code == 403
    response = staff_client.post(reverse("stuck_jobs"), {"kind": "binding", "job": str(stuck.pk)})
    assert response.status_code == 403
    assert sent == []


def test_a_binding_with_nothing_to_do_loses_its_lease_instead_of_being_sent(sent):
    # given an active binding left with a lease (its task finished before it could clear it)
    binding = BindingFactory(lease_until=timezone.now() - timedelta(minutes=1))
    # when
    assert jobs.sweep()["binding"] == 0
    # then
    assert sent == []
    assert Binding.objects.get(pk=binding.pk).lease_until is None


class _BrokerDown:
    """A task whose broker cannot be reached."""

    name = "bench.unreachable"

    def apply_async(self, args, kwargs):
        from kombu.exceptions import OperationalError

        raise OperationalError("connection refused")


@pytest.mark.embedded
def test_jobs_queued_while_the_broker_is_down_each_lose_their_own_lease(
    django_capture_on_commit_callbacks,
):
    # given three bindings leased to a worker, queued in one transaction while the broker is down,
    # their rows given as a queryset, and as functions built in a loop (made only on failure)
    leased = timezone.now() + timedelta(minutes=10)
    first, second, third = (BindingFactory(lease_until=leased) for _ in range(3))
    with django_capture_on_commit_callbacks(execute=True):
        sendings = [
            jobs.send_on_commit(_BrokerDown(), first.pk, job=Binding.objects.filter(pk=first.pk))
        ]
        sendings += [
            jobs.send_on_commit(
                _BrokerDown(), pk, job=functools.partial(Binding.objects.filter, pk=pk)
            )
            for pk in (second.pk, third.pk)
        ]
    # then none was queued, and each binding's lease ran out (the sweeper sends them later)
    assert [sending.queued for sending in sendings] == [False, False, False]
    for binding in (first, second, third):
        binding.refresh_from_db()
        assert binding.lease_until <= timezone.now()
