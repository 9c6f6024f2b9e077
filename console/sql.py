"""A cursor for the push receiver's few hot statements: bound on the server, prepared once.

Django's PostgreSQL backend binds parameters on the client (by default): psycopg writes every value
into the SQL text, so the raw body of a push (~30 kB, ``bytea``) travels as 60 kB of hex that
PostgreSQL parses back, and a 50-CDR batch (one JSON text) is escaped and re-parsed; and every
statement is planned anew. :func:`prepared_cursor` gives a cursor on the same connection (so in
the same transaction) that sends parameters apart from the text (``bytes`` as binary) and
prepares the statement on the first use in each connection. It is wrapped by Django as any cursor,
so queries are logged and counted (``CaptureQueriesContext``) as before.

Prepared statements live in the server session: a connection pooler in front of PostgreSQL must
keep a session per client (pgbouncer: ``pool_mode = session``, or ≥ 1.21 with
``max_prepared_statements``). Other databases get an ordinary cursor.
"""

from __future__ import annotations

import threading
from datetime import datetime
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Model, Value, signals
from django.db.models.expressions import DatabaseDefault
from django.db.models.query import get_related_populators


def prepared_cursor(*, numbered: bool = False) -> CursorWrapper:
    """A cursor whose ``execute`` binds on the server and prepares the statement.

    The connection keeps one such cursor and hands it out again once the previous user has
    closed it (its ``with`` block ended): making a cursor cost about as much CPU as PostgreSQL
    spends on a hot statement (issue 19). A cursor still in use (nested statements) is never
    shared: the nested caller gets a new one.

    ``numbered``: the SQL writes its parameters as PostgreSQL does, ``$1``, ``$2``…, and psycopg
    sends it as it is. A ``%s`` statement is split at its placeholders on each run; psycopg keeps
    the split only for statements of at most 50 parameters and 4 kB, so a binding's INSERT (51
    columns) was split again on every binding created (~0.2 ms of CPU each).
    """
    # (the default connection looked up once: each use of the ``connection`` proxy is a lookup)
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor != "postgresql":
        return database.cursor()
    database.close_if_health_check_failed()
    database.ensure_connection()
    raw = database.connection
    if raw.prepare_threshold is None:
        # Django connects with prepare_threshold=None, which makes psycopg ignore prepare=True
        # (every statement was parsed and planned anew). The highest threshold prepares what
        # asks to be prepared and nothing else: Django's own cursors bind on the client and are
        # never prepared by psycopg.
        raw.prepare_threshold = _EXPLICIT_ONLY
    kept = getattr(database, "_console_prepared_cursor", None)
    with database.wrap_database_errors:
        if kept is not None and kept.connection is raw and not kept.in_use and not kept.closed:
            cursor = kept
        else:
            cursor = _cursor_class()(raw)
            if kept is None or kept.connection is not raw or kept.closed:
                cursor.kept = True
                database._console_prepared_cursor = cursor
        cursor.in_use = True
        # the class's own (%s) unless asked for $n: the kept cursor serves both kinds of user
        cursor._query_cls = _numbered_query() if numbered else type(cursor)._query_cls
        # what connection.cursor() does, with our cursor class instead of create_cursor()'s
        return database._prepare_cursor(cursor)


# psycopg prepares a statement executed this many times even without prepare=True: never.
_EXPLICIT_ONLY = 2**31 - 1


@cache
def _numbered_query() -> type:
    """psycopg's query for ``$n`` placeholders, sent unparsed (what ``psycopg.RawCursor`` uses)."""
    from psycopg.raw_cursor import RawCursorMixin  # needs psycopg

    return RawCursorMixin._query_cls


@cache
def _cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor  # needs psycopg

    class PreparedCursor(ServerBindingCursor):
        kept = False  # the connection's own, handed out again after close()
        in_use = False

        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg keeps the query it ran (what Django logs and tests capture) only when it
            # sends the text; a prepared statement's run is sent by name
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

        def close(self):
            self.in_use = False
            if not self.kept:
                super().close()

    return PreparedCursor


class CompiledQuery:
    """A model queryset (with its ``select_related`` rows) compiled once per thread and run again,
    as a prepared statement, with new values for its parameters.

    ``build(*values)`` returns the queryset. It is compiled once with ``markers`` in place of the
    values: each marker must be a value of its parameter's type that appears exactly once among
    the compiled parameters (an integer inside its field's range, a string no query builds in, a
    datetime). Each run puts the real values where the markers were and builds the instances as
    the ORM's ``ModelIterable`` does (``from_db``, the related populators, the fields'
    converters). For the hot paths where compiling the ORM's query cost more CPU than
    PostgreSQL answering it (issue 19). The queryset must be a plain one: no annotations, no
    ``defer``/``only``, no ``values()``; a value that changes the SQL's shape (a list for
    ``__in``) needs a compiled query per shape.
    """

    def __init__(self, build, *markers) -> None:
        self._build = build
        self._markers = markers
        self._local = threading.local()

    def _plan(self):
        plan = getattr(self._local, "plan", None)
        if plan is None:
            queryset = self._build(*self._markers)
            database = connections[queryset.db]
            compiler = queryset.query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
            slots = []
            for marker in self._markers:
                adapted = _adapted(marker, database)
                found = [
                    index
                    for index, value in enumerate(params)
                    if type(value) is type(adapted) and value == adapted
                ]
                if len(found) != 1:
                    raise ValueError(f"CompiledQuery: the marker {marker!r} is not in the SQL once")
                slots.append(found[0])
            if compiler.annotation_col_map:
                raise ValueError("CompiledQuery: annotations are not replayed")
            select, klass_info = compiler.select, compiler.klass_info
            fields = klass_info["select_fields"]
            start, end = fields[0], fields[-1] + 1
            plan = (
                sql,
                list(params),
                slots,
                compiler,
                compiler.get_converters([column[0] for column in select[: compiler.col_count]]),
                klass_info["model"],
                queryset.db,
                [column[0].target.attname for column in select[start:end]],
                (start, end),
                get_related_populators(klass_info, select, queryset.db),
            )
            self._local.plan = plan
        return plan

    def all(self, *values) -> list:
        """The instances the queryset gives for these values, in its order."""
        sql, params, slots, compiler, converters, model, db, names, span, related = self._plan()
        params = list(params)
        database = connections[db]
        for slot, value in zip(slots, values, strict=True):
            params[slot] = _adapted(value, database)
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        instances = []
        for row in rows:
            instance = model.from_db(db, names, row[span[0] : span[1]])
            for populator in related:
                populator.populate(row, instance)
            instances.append(instance)
        return instances

    def first(self, *values):
        """The first instance (the queryset should be sliced ``[:1]``), or None."""
        found = self.all(*values)
        return found[0] if found else None


def _adapted(value, database):
    """A value as the ORM passes it to the database (datetimes are the only ones that differ
    by backend: SQLite takes them as text)."""
    if isinstance(value, datetime):
        return database.ops.adapt_datetimefield_value(value)
    return value


class IfNotNull:
    """A value for :func:`update_where` written only where the column holds one already (a lease
    renewed only where a lease is kept)."""

    def __init__(self, value) -> None:
        self.value = value


class Added:
    """A number :func:`update_where` adds to the column (``F(column) + value`` in an ORM update:
    a claim counting its attempts)."""

    def __init__(self, value: int) -> None:
        self.value = value


def update_where(model, values: dict, where: str, where_params: list) -> int:
    """``UPDATE <model's table> SET <values> WHERE <where>`` as one prepared statement; the rows
    updated. What ``QuerySet.update(**values)`` writes (each value through its field's
    ``get_db_prep_save``), without compiling the query each time, for a worker's hot path
    (issue 19). ``where`` is SQL over the table's columns with ``%s`` for ``where_params``
    (datetimes adapted by the caller, ``connection.ops.adapt_datetimefield_value``). A value
    may be :class:`IfNotNull` or :class:`Added`.
    """
    database = connections[DEFAULT_DB_ALIAS]
    fields = [model._meta.get_field(name) for name in values]
    kinds = tuple(_kind(values[field.name]) for field in fields)
    params = [
        field.get_db_prep_save(
            value.value if isinstance(value := values[field.name], IfNotNull | Added) else value,
            database,
        )
        for field in fields
    ]
    sql = _update_sql(model, tuple(field.column for field in fields), kinds, where)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params + list(where_params))
        return cursor.rowcount


def _kind(value) -> str:
    if isinstance(value, IfNotNull):
        return "if not null"
    return "added" if isinstance(value, Added) else ""


@cache
def _update_sql(model, columns: tuple[str, ...], kinds: tuple[str, ...], where: str) -> str:
    quote = connection.ops.quote_name

    def assignment(column: str, kind: str) -> str:
        if kind == "if not null":
            return f"{quote(column)} = CASE WHEN {quote(column)} IS NULL THEN NULL ELSE %s END"
        if kind == "added":
            return f"{quote(column)} = {quote(column)} + %s"
        return f"{quote(column)} = %s"

    assignments = ", ".join(
        assignment(column, kind) for column, kind in zip(columns, kinds, strict=True)
    )
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {where}"  # noqa: S608


def insert(instance):
    """Save a new instance as ``instance.save()`` would, with one prepared ``INSERT``.

    The same values (each field's ``pre_save`` then ``get_db_prep_save``), the same signals
    (``pre_save``, ``post_save`` with ``created=True``), the primary key and the instance's state
    set as after a save, in the caller's transaction. Compiling the ORM's ``INSERT`` and binding
    its values on the client cost more than PostgreSQL's insert for the wide rows of the hot paths
    (a binding's 69 columns, an audit row; issue 19). Anything this does not cover goes through
    ``save()``: another database, a model with its own ``save()``, parents or
    ``order_with_respect_to``, a primary key already set, a value that is an expression.
    """
    model = type(instance)
    alias = router.db_for_write(model, instance=instance)
    database = connections[alias]
    if (
        alias != DEFAULT_DB_ALIAS  # the prepared cursor is the default connection's
        or database.vendor != "postgresql"
        or not _insertable(model)
        or not instance._state.adding
        or instance.pk is not None
        or _holds_expression(instance)  # the ORM compiles those (a database default too)
    ):
        instance.save(using=alias)
        return instance
    instance._prepare_related_fields_for_save(operation_name="save")
    signals.pre_save.send(
        sender=model, instance=instance, raw=False, using=alias, update_fields=None
    )
    fields, returning, sql = _insert_plan(model)
    values = [field.pre_save(instance, True) for field in fields]
    params = [
        field.get_db_prep_save(
            _constant_default(field) if isinstance(value, DatabaseDefault) else value, database
        )
        for field, value in zip(fields, values, strict=True)
    ]
    # as save() does: a failed insert inside an atomic block marks it for rollback
    with (
        transaction.mark_for_rollback_on_error(alias),
        prepared_cursor(numbered=True) as cursor,
    ):
        cursor.execute(sql, params)
        row = cursor.fetchone()
    for field, value in zip(returning, row, strict=True):
        for converter in field.get_db_converters(database):
            value = converter(value, field, database)
        setattr(instance, field.attname, value)
    instance._state.adding = False
    instance._state.db = alias
    signals.post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=alias
    )
    return instance


def _holds_expression(instance) -> bool:
    """Whether a value is an expression, other than a constant database default."""
    fields = _insert_plan(type(instance))[0]
    values = instance.__dict__
    return any(
        hasattr(value := values.get(field.attname), "resolve_expression")
        and not (isinstance(value, DatabaseDefault) and _constant_default(field) is not _COMPUTED)
        for field in fields
    )


_COMPUTED = object()


def _constant_default(field):
    """The value a field's ``db_default`` writes when it is a constant (``cost_tag``'s ""), which
    the INSERT then sends as its value; ``_COMPUTED`` when the database computes it."""
    default = field.db_default
    if isinstance(default, Value):
        return default.value
    return _COMPUTED if hasattr(default, "resolve_expression") else default


@cache
def _insertable(model) -> bool:
    meta = model._meta
    return (
        model.save is Model.save
        and model.save_base is Model.save_base
        and not meta.parents
        and not meta.proxy
        and meta.order_with_respect_to is None
        and meta.auto_field is not None
    )


@cache
def _insert_plan(model) -> tuple[list, list, str]:
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    returning = list(meta.db_returning_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(f"${number}" for number in range(1, len(fields) + 1))  # numbered=True
    back = ", ".join(quote(field.column) for field in returning)
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}) RETURNING {back}"  # noqa: S608
    return fields, returning, sql
