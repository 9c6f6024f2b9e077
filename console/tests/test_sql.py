"""The hot path's SQL helpers give what the ORM gives, on both databases (``console.sql``).

``CompiledQuery`` loads a binding with its application from a query compiled once; every field, the
application's encrypted secret and its JSON fields must come back as the ORM's own query gives
them. ``update_where`` writes what ``QuerySet.update`` writes, ``insert`` what ``save()`` inserts
(values, signals, the instance's state). The prepared cursor a connection
keeps is never handed to two users at once, and its statements really are prepared on the server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import Value, signals
from django.db.models.functions import Upper
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bindings.models import Binding
from bindings.tests.factories import BindingFactory
from console import sql
from console.choices import AuditAction
from console.models import Application, AuditLog
from console.testing import prepared_statements
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

LOAD = sql.CompiledQuery(
    lambda pk: Binding._base_manager.select_related("application").filter(pk=pk).order_by()[:1],
    2_087_654_321,
)


def field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def test_a_compiled_query_builds_what_the_orm_builds():
    # given two bindings of different applications (the query compiled on the first)
    first, second = BindingFactory(), BindingFactory(duration=600, yb_duration=None)
    LOAD.first(first.pk)
    # when the second is loaded by the same compiled query
    loaded = LOAD.first(second.pk)
    # then every field of both models is the ORM's, the application attached (no query more)
    expected = Binding.objects.select_related("application").get(pk=second.pk)
    assert field_values(loaded) == field_values(expected)
    assert loaded.pk == second.pk
    assert loaded.application_id == second.application_id
    assert not loaded._state.adding
    assert loaded._state.db == "default"
    with CaptureQueriesContext(connection) as queries:
        application = loaded.application
    assert not queries.captured_queries
    assert field_values(application) == field_values(
        Application.objects.get(pk=second.application_id)
    )
    assert application.get_secret() == expected.application.get_secret()


def test_a_compiled_query_of_a_missing_key_is_none():
    BindingFactory()
    assert LOAD.first(-1) is None


def test_a_compiled_query_refuses_a_query_it_cannot_replay():
    loader = sql.CompiledQuery(
        lambda pk: Binding._base_manager.filter(pk=pk, x_id=pk), 2_087_654_321
    )
    with pytest.raises(ValueError, match="not in the SQL once"):
        loader.first(1)


def test_update_where_writes_what_the_orm_update_writes_and_counts_rows():
    # given a binding with a lease and one without
    now = timezone.now().replace(microsecond=0)
    leased, unleased = BindingFactory(lease_until=now), BindingFactory(lease_until=None)
    later = now + timedelta(minutes=5)
    # when both get a renewed lease kept only where one is, and a new result code
    updated = sql.update_where(
        Binding,
        {"lease_until": sql.IfNotNull(later), "last_result_code": "7"},
        "id IN (%s, %s) AND status = %s",
        [leased.pk, unleased.pk, leased.status],
    )
    # then both rows were written; the lease only where there was one
    assert updated == 2
    leased.refresh_from_db()
    unleased.refresh_from_db()
    assert (leased.lease_until, leased.last_result_code) == (later, "7")
    assert (unleased.lease_until, unleased.last_result_code) == (None, "7")
    # and a condition that matches nothing writes nothing
    assert sql.update_where(Binding, {"last_result_code": "8"}, "id = %s", [-1]) == 0


def test_update_where_adds_to_a_column_as_an_f_expression_does():
    # given two bindings that have been attempted a different number of times
    first, second = BindingFactory(bind_attempts=2), BindingFactory(bind_attempts=5)
    # when one more attempt is counted on each, with a time matched in the condition
    now = timezone.now()
    updated = sql.update_where(
        Binding,
        {"bind_attempts": sql.Added(1), "last_result_code": "9"},
        "id IN (%s, %s) AND created_at < %s",
        [first.pk, second.pk, connection.ops.adapt_datetimefield_value(now + timedelta(hours=1))],
    )
    # then each counts from its own value, as Binding.objects.update(bind_attempts=F(…) + 1)
    assert updated == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.bind_attempts, second.bind_attempts) == (3, 6)
    assert first.last_result_code == second.last_result_code == "9"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_kept_prepared_cursor_is_never_shared_by_two_users():
    if connection.vendor != "postgresql":
        pytest.skip("an ordinary cursor elsewhere")
    with transaction.atomic():
        with sql.prepared_cursor() as outer:
            outer.execute("SELECT 1 FROM generate_series(1, 3)")
            # a nested user while the outer has rows left to read gets a cursor of its own
            with sql.prepared_cursor() as inner:
                assert inner.cursor is not outer.cursor
                inner.execute("SELECT 42")
                assert inner.fetchone() == (42,)
            assert len(outer.fetchall()) == 3
        # once the outer block ended, the next user gets the kept cursor again
        with sql.prepared_cursor() as again:
            assert again.cursor is outer.cursor
            again.execute("SELECT 7")
            assert again.fetchone() == (7,)
    # a new connection keeps a new cursor
    kept = connection._console_prepared_cursor
    connection.close()
    with sql.prepared_cursor() as fresh:
        fresh.execute("SELECT 1")
        assert fresh.cursor is not kept


@pytest.mark.postgres_only
def test_a_statement_of_the_prepared_cursor_is_prepared_once_on_the_server_and_still_logged():
    if connection.vendor != "postgresql":
        pytest.skip("an ordinary cursor elsewhere")
    statement = "SELECT %s::int + 1 AS prepared_once_marker"

    def prepared_here() -> list[str]:
        return prepared_statements("%prepared_once_marker%")

    assert prepared_here() == []
    with CaptureQueriesContext(connection) as queries:
        for value in (1, 2, 3):
            with sql.prepared_cursor() as cursor:
                cursor.execute(statement, [value])
                assert cursor.fetchone() == (value + 1,)
    # one server-side statement for the three runs (Django connects with prepare_threshold=None,
    # which made psycopg ignore prepare=True: every run was parsed and planned anew)
    assert prepared_here() == ["SELECT $1::int + 1 AS prepared_once_marker"]
    logged = [query["sql"] for query in queries.captured_queries]
    assert logged == ["SELECT $1::int + 1 AS prepared_once_marker"] * 3


def audit_entry(application, **overrides) -> AuditLog:
    values = {
        "application": application,
        "action": AuditAction.CREATE,
        "username": "ops",
        "ip_address": "203.0.113.9",
        "target_type": ContentType.objects.get_for_model(Application),
        "target_id": str(application.pk),
        "target_repr": "an application",
        "details": {"x": "+86138****0001", "warnings": ["late", 2]},
    }
    return AuditLog(**{**values, **overrides})


def test_insert_stores_what_save_stores_and_leaves_the_instance_saved():
    application = ApplicationFactory()
    by_save = audit_entry(application)
    by_save.save()
    # when the same entry is inserted by the helper
    inserted = sql.insert(audit_entry(application))
    # then it is saved as save() leaves an instance: key, state, the auto_now_add time
    assert inserted.pk is not None
    assert inserted.pk != by_save.pk
    assert not inserted._state.adding
    assert inserted._state.db == "default"
    assert inserted.at is not None
    assert abs(inserted.at - by_save.at) < timedelta(minutes=1)
    # and the row read back holds the same values as the ORM's, the JSON included
    stored, twin = AuditLog.objects.get(pk=inserted.pk), AuditLog.objects.get(pk=by_save.pk)
    assert field_values(stored) == {**field_values(twin), "id": inserted.pk, "at": stored.at}
    assert stored.at == inserted.at
    assert stored.details == {"x": "+86138****0001", "warnings": ["late", 2]}


def test_insert_of_a_binding_round_trips_every_field():
    template = BindingFactory()
    binding = Binding(
        **{
            **field_values(template),
            "id": None,
            "subscription_id": template.subscription_id + "b",
            "a_number": "+8613599990001",
        }
    )
    sql.insert(binding)
    stored = Binding._base_manager.get(pk=binding.pk)
    assert field_values(stored) == field_values(binding)
    assert stored.pk != template.pk


def test_insert_writes_a_constant_database_default_as_its_value():
    template = BindingFactory()
    binding = Binding(
        application=template.application,
        mode=template.mode,
        a_number="+8613599990002",
        b_number="+8613699990002",
        x_number=template.x_number,
    )  # cost_tag not given: the instance holds a DatabaseDefault
    with CaptureQueriesContext(connection) as queries:
        sql.insert(binding)
    assert binding.cost_tag == ""  # read back, as save() does
    assert Binding._base_manager.get(pk=binding.pk).cost_tag == ""
    if connection.vendor == "postgresql":  # one prepared statement, not save()'s fallback
        (statement,) = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
        assert "VALUES ($1" in statement


def test_insert_sends_the_signals_save_sends():
    application = ApplicationFactory()
    heard = []

    def pre(sender, instance, **kwargs):
        heard.append(("pre_save", instance.pk, kwargs["raw"], kwargs["update_fields"]))
        instance.target_repr = "set by a pre_save receiver"  # written, as save() would

    def post(sender, instance, created, **kwargs):
        heard.append(("post_save", instance.pk is not None, created))

    signals.pre_save.connect(pre, sender=AuditLog)
    signals.post_save.connect(post, sender=AuditLog)
    try:
        entry = sql.insert(audit_entry(application))
    finally:
        signals.pre_save.disconnect(pre, sender=AuditLog)
        signals.post_save.disconnect(post, sender=AuditLog)
    assert heard == [("pre_save", None, False, None), ("post_save", True, True)]
    assert AuditLog.objects.get(pk=entry.pk).target_repr == "set by a pre_save receiver"


def test_insert_leaves_an_expression_to_the_orm():
    application = ApplicationFactory()
    entry = sql.insert(audit_entry(application, target_repr=Upper(Value("compiled by the orm"))))
    assert AuditLog.objects.get(pk=entry.pk).target_repr == "COMPILED BY THE ORM"


@pytest.mark.postgres_only
def test_insert_is_one_prepared_statement_and_a_failure_marks_the_block_for_rollback():
    if connection.vendor != "postgresql":
        pytest.skip("save() elsewhere")
    application = ApplicationFactory()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            sql.insert(audit_entry(application))
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    assert "VALUES ($1" in inserts[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['INSERT INTO "console_auditlog"%'],
        )
        assert cursor.fetchone() == (1,)
    # a failed insert inside an atomic block: the block must roll back, as after save()
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            sql.insert(audit_entry(application, action=None))
        with pytest.raises(TransactionManagementError):
            AuditLog.objects.count()  # refused: the transaction is broken


@pytest.mark.postgres_only
def test_a_binding_insert_is_not_split_again_on_each_run(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("save() elsewhere")
    from psycopg import _queries

    # given a binding's INSERT, wider than the 50 parameters psycopg keeps the split of
    fields = sql._insert_plan(Binding)[0]
    assert len(fields) > _queries.MAX_CACHED_STATEMENT_PARAMS
    splits: list[int] = []
    split = _queries._split_query
    monkeypatch.setattr(
        _queries,
        "_split_query",
        lambda query, *a, **k: splits.append(len(query)) or split(query, *a, **k),
    )
    template = BindingFactory()
    # when three are inserted
    for number in range(3):
        values = {**field_values(template), "id": None, "a_number": f"+861359999000{number}"}
        sql.insert(Binding(**{**values, "subscription_id": f"{template.subscription_id}-{number}"}))
    # then psycopg parsed none of them (it sends $n SQL as it is)
    assert splits == []
    assert Binding._base_manager.filter(application=template.application).count() == 4
    # and the connection's kept cursor still reads %s placeholders for the next user
    with sql.prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int * 2", [21])
        assert cursor.fetchone() == (42,)
