"""The pool's raw-SQL fast paths and their ORM twins give the same answers, on both databases.

``bindings.pool`` (choosing X under ``FOR UPDATE SKIP LOCKED``) and ``bindings.release`` (ending
bindings and releasing their numbers in one statement) run PostgreSQL-only statements, and keep
an ORM twin of each for
SQLite, the embedded setup of ``make run``. Each test plays one scenario through the twin (always)
and through the raw SQL (on PostgreSQL), and both must match the answer written out by hand. The
embedded pass runs them on SQLite (``tests/services.py``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from bindings import pool, release
from bindings.choices import BindingStatus, NumberState, PlatformNumberStatus
from bindings.models import Binding, XNumber
from bindings.tests.factories import BindingFactory, XNumberFactory
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

A = "+8613800000001"
B = "+8613900000001"


def twins() -> list[bool]:
    """The ways this database can run the pool: the ORM twin, and the raw SQL on PostgreSQL."""
    return [False, True] if connection.vendor == "postgresql" else [False]


def played(monkeypatch, raw: bool, scenario):
    """Run ``scenario`` through one twin and roll it back; return what it answered."""
    monkeypatch.setattr(pool, "is_postgresql", lambda: raw)
    with transaction.atomic():
        answer = scenario()
        transaction.set_rollback(True)
    return answer


@pytest.fixture
def axb_pool():
    """Numbers of one AXB application whose loads all differ (ties would make either pick right)."""
    application = ApplicationFactory(mode="AXB")
    now = timezone.now()

    def number(n: int, city: str, count: int, **fields) -> XNumber:
        fields.setdefault("state", NumberState.IN_USE if count else NumberState.AVAILABLE)
        return XNumberFactory(
            application=application,
            number=f"+861700000{n:04d}",
            city_code=city,
            binding_count=count,
            **fields,
        )

    numbers = {
        "sz_busy": number(1, "0755", 3),
        "sz_cooling": number(2, "0755", 0, cooling_until=now + timedelta(hours=1)),
        "sz_with_a": number(3, "0755", 2),
        "gz": number(4, "020", 1),
        "bj": number(5, "010", 4),
        "sz_retired": number(6, "0755", 0, state=NumberState.RETIRED),
        "sz_paused": number(7, "0755", 0, platform_status=PlatformNumberStatus.PAUSED),
        # rested by the number-health guard (billing.health)
        "sz_resting": number(8, "0755", 0, resting_until=now + timedelta(hours=1)),
    }
    BindingFactory(application=application, x=numbers["sz_with_a"], a_number=A)
    return application, numbers


def test_choosing_x_gives_the_same_numbers_and_counts(monkeypatch, axb_pool):
    # given a pool where the least loaded usable number depends on city, province and parties
    application, numbers = axb_pool
    role = pool.role_for("AXB", application)
    parties = pool.Parties((A, B))
    now = timezone.now()

    def scenario():
        taken = []
        for city, loose in (("0755", False), ("0757", True), ("0571", False), ("0755", False)):
            number = pool.take(
                application, role, city_code=city, loose=loose, now=now, parties=parties
            )
            taken.append(number.number if number else None)
        counts = dict(
            XNumber.objects.filter(application=application).values_list("number", "binding_count")
        )
        return taken, counts

    # when each twin plays it
    answers = [played(monkeypatch, raw, scenario) for raw in twins()]

    # then each took, in Shenzhen, the number not cooling, retired, paused, resting or holding A; in
    # Foshan (none) Guangzhou, the same province; in Hangzhou (none, strict) nothing
    expected_taken = [numbers["sz_busy"].number, numbers["gz"].number, None]
    expected_taken.append(numbers["sz_busy"].number)
    for taken, counts in answers:
        assert taken == expected_taken
        assert counts[numbers["sz_busy"].number] == 5
        assert counts[numbers["gz"].number] == 2
        assert counts[numbers["sz_with_a"].number] == 2
    assert all(answer == answers[0] for answer in answers)


def test_ending_bindings_releases_the_same_numbers(monkeypatch, settings):
    # given an X with two live bindings, an X with one, and a binding already ended
    settings.X_COOLDOWN_SECONDS = 1800
    application = ApplicationFactory(mode="AXB")
    shared = XNumberFactory(application=application, binding_count=2, state=NumberState.IN_USE)
    alone = XNumberFactory(application=application, binding_count=1, state=NumberState.IN_USE)
    first = BindingFactory(application=application, x=shared, order_ref="first")
    BindingFactory(application=application, x=shared, order_ref="second")
    third = BindingFactory(application=application, x=alone, order_ref="third")
    ended = BindingFactory(application=application, x=alone, status=BindingStatus.ENDED)
    now = timezone.now()

    def scenario():
        changed = release.end_bindings(
            Q(pk__in=[first.pk, third.pk, ended.pk]), to_status=BindingStatus.ENDED, now=now
        )
        statuses = dict(Binding.objects.values_list("order_ref", "status"))
        numbers = {
            n.pk: (n.binding_count, n.state, n.cooling_until)
            for n in XNumber.objects.filter(application=application)
        }
        return changed, statuses, numbers

    answers = [played(monkeypatch, raw, scenario) for raw in twins()]

    for changed, statuses, numbers in answers:
        assert changed == 2  # the ended one is not ended twice
        assert statuses == {"first": "ended", "second": "active", "third": "ended", "": "ended"}
        assert numbers[shared.pk] == (1, NumberState.IN_USE, None)
        assert numbers[alone.pk] == (0, NumberState.COOLING, now + timedelta(seconds=1800))
    assert all(answer == answers[0] for answer in answers)


def test_ending_yb_parts_and_starting_to_end_give_the_same_answers(monkeypatch):
    # given an AXYB binding whose YB part ran out and two active bindings due to end
    application = ApplicationFactory(mode="AXYB")
    x1 = XNumberFactory(application=application, binding_count=1, state=NumberState.IN_USE)
    y = XNumberFactory(application=application, y_binding_count=2, state=NumberState.IN_USE)
    x2 = XNumberFactory(application=application, binding_count=1, state=NumberState.IN_USE)
    now = timezone.now()
    due = BindingFactory(
        application=application,
        x=x1,
        y=y,
        y_number=y.number,
        yb_expires_at=now - timedelta(minutes=1),
        expires_at=now - timedelta(minutes=2),
        order_ref="due",
    )
    BindingFactory(
        application=application,
        x=x2,
        y=y,
        y_number=y.number,
        yb_expires_at=now + timedelta(hours=1),
        expires_at=now - timedelta(minutes=1),
        order_ref="later",
    )

    def scenario():
        yb_ended = release.end_yb_parts(Q(yb_expires_at__lte=now), now=now)
        ending = release.start_ending(
            Q(expires_at__lte=now), end_reason="expired", now=now, limit=1
        )
        rows = {
            b.order_ref: (b.status, b.yb_ended_at is not None)
            for b in Binding.objects.filter(application=application)
        }
        return yb_ended, ending, rows, XNumber.objects.get(pk=y.pk).y_binding_count

    answers = [played(monkeypatch, raw, scenario) for raw in twins()]

    for yb_ended, ending, rows, y_count in answers:
        assert yb_ended == 1
        assert ending == [due.pk]  # the earliest expiry first, one at a time
        assert rows == {"due": ("ending", True), "later": ("active", False)}
        assert y_count == 1
    assert all(answer == answers[0] for answer in answers)


def test_a_walk_in_batches_ends_each_due_binding_once_in_key_order(monkeypatch):
    # given five due bindings, three of them due at the same instant, and one not due
    application = ApplicationFactory(mode="AXB")
    x = XNumberFactory(application=application, binding_count=6, state=NumberState.IN_USE)
    now = timezone.now()
    t0, t1, t2 = (now - timedelta(minutes=m) for m in (3, 2, 1))
    made = [
        BindingFactory(application=application, x=x, expires_at=expires, order_ref=ref)
        for ref, expires in (("c", t0), ("a", t0), ("d", t1), ("b", t0), ("e", t2))
    ]
    BindingFactory(application=application, x=x, expires_at=now + timedelta(hours=1))
    ids = {b.order_ref: b.pk for b in made}
    ordered = sorted(made, key=lambda b: (b.expires_at, b.pk))

    def scenario():
        walk, after = [], None
        while True:
            done, after = release.end_batch(
                Q(expires_at__lte=now),
                to_status=BindingStatus.EXPIRED,
                from_statuses=[BindingStatus.ACTIVE],
                now=now,
                key="expires_at",
                after=after,
                limit=2,
            )
            ended = set(
                Binding.objects.filter(status=BindingStatus.EXPIRED).values_list("pk", flat=True)
            )
            walk.append((done, after[1] if after else None, ended))
            if done < 2:
                break
        return walk, XNumber.objects.get(pk=x.pk).binding_count

    answers = [played(monkeypatch, raw, scenario) for raw in twins()]

    # then each batch took the next two in (expires_at, id) order, ties split by id, and the
    # number lost exactly one binding per binding ended
    first, second, third = {b.pk for b in ordered[:2]}, ordered[3].pk, ordered[4].pk
    assert ordered[4].pk == ids["e"]
    for walk, count in answers:
        assert walk == [
            (2, ordered[1].pk, first),
            (2, second, {b.pk for b in ordered[:4]}),
            (1, third, {b.pk for b in ordered}),
        ]
        assert count == 1
    assert all(answer == answers[0] for answer in answers)


def test_a_walk_through_yb_parts_in_batches_releases_each_y_once(monkeypatch):
    # given four AXYB bindings on one Y: three YB parts due (two at the same instant), one later
    application = ApplicationFactory(mode="AXYB")
    x = XNumberFactory(application=application, binding_count=4, state=NumberState.IN_USE)
    y = XNumberFactory(application=application, y_binding_count=4, state=NumberState.IN_USE)
    now = timezone.now()
    t0, t1 = now - timedelta(minutes=2), now - timedelta(minutes=1)
    made = [
        BindingFactory(application=application, x=x, y=y, y_number=y.number, yb_expires_at=at)
        for at in (t1, t0, t0, now + timedelta(hours=1))
    ]
    ordered = sorted(made[:3], key=lambda b: (b.yb_expires_at, b.pk))

    def scenario():
        walk, after = [], None
        while True:
            done, after = release.end_yb_batch(
                Q(yb_expires_at__lte=now), now=now, after=after, limit=2
            )
            ended = set(
                Binding.objects.filter(yb_ended_at__isnull=False).values_list("pk", flat=True)
            )
            walk.append((done, after[1] if after else None, ended))
            if done < 2:
                break
        return walk, XNumber.objects.get(pk=y.pk).y_binding_count

    answers = [played(monkeypatch, raw, scenario) for raw in twins()]

    # then the two due first went in the first batch (by id), the third in the next, once each
    for walk, y_count in answers:
        assert walk == [
            (2, ordered[1].pk, {ordered[0].pk, ordered[1].pk}),
            (1, ordered[2].pk, {b.pk for b in ordered}),
        ]
        assert y_count == 1
    assert all(answer == answers[0] for answer in answers)
