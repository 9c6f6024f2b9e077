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
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorWrapper
from django.db.models.query import get_related_populators


def prepared_cursor() -> CursorWrapper:
    """A cursor whose ``execute`` binds on the server and prepares the statement.

    The connection keeps one such cursor and hands it out again once the previous user has
    closed it (its ``with`` block ended): making a cursor cost about as much CPU as PostgreSQL
    spends on a hot statement (issue 19). A cursor still in use (nested statements) is never
    shared: the nested caller gets a new one.
    """
    # (the default connection looked up once: each use of the ``connection`` proxy is a lookup)
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor != "postgresql":
        return database.cursor()
    database.close_if_health_check_failed()
    database.ensure_connection()
    raw = database.connection
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
        # what connection.cursor() does, with our cursor class instead of create_cursor()'s
        return database._prepare_cursor(cursor)


@cache
def _cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor  # needs psycopg

    class PreparedCursor(ServerBindingCursor):
        kept = False  # the connection's own, handed out again after close()
        in_use = False

        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

        def close(self):
            self.in_use = False
            if not self.kept:
                super().close()

    return PreparedCursor


class CompiledGet:
    """One row of a model by primary key, with its ``select_related`` rows, the ORM's query
    compiled once per thread and run as a prepared statement.

    ``build(pk)`` returns the queryset (``Model._base_manager.select_related(...).filter(pk=pk)``);
    it is compiled once with a marker in place of the key, and each :meth:`get` runs the same SQL
    with the real key and builds the instances as the ORM's ``ModelIterable`` does (``from_db``,
    the related populators, the fields' converters). For a worker's hot path, where compiling a
    ~90-column join cost more CPU than PostgreSQL answering it (issue 19). The queryset must be
    a plain one: no annotations, no ``defer``/``only``, one row.
    """

    # Stands for the key while compiling: inside the range of a key's integer type (Django refuses
    # to compile a lookup whose value its field cannot hold), and no value a query builds in.
    _MARK = 2_087_654_321

    def __init__(self, build) -> None:
        self._build = build
        self._local = threading.local()

    def _plan(self):
        plan = getattr(self._local, "plan", None)
        if plan is None:
            queryset = self._build(self._MARK)
            compiler = queryset.query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
            positions = [index for index, value in enumerate(params) if value == self._MARK]
            if len(positions) != 1 or compiler.annotation_col_map:
                raise ValueError("CompiledGet needs a plain query with the key once")
            select, klass_info = compiler.select, compiler.klass_info
            fields = klass_info["select_fields"]
            start, end = fields[0], fields[-1] + 1
            plan = (
                sql,
                list(params),
                positions[0],
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

    def get(self, pk):
        """The instance with this key (its related instances attached), or None."""
        sql, params, position, compiler, converters, model, db, names, span, related = self._plan()
        params = list(params)
        params[position] = pk
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        instance = model.from_db(db, names, row[span[0] : span[1]])
        for populator in related:
            populator.populate(row, instance)
        return instance


class IfNotNull:
    """A value for :func:`update_where` written only where the column holds one already (a lease
    renewed only where a lease is kept)."""

    def __init__(self, value) -> None:
        self.value = value


def update_where(model, values: dict, where: str, where_params: list) -> int:
    """``UPDATE <model's table> SET <values> WHERE <where>`` as one prepared statement; the rows
    updated. What ``QuerySet.update(**values)`` writes (each value through its field's
    ``get_db_prep_save``), without compiling the query each time, for a worker's hot path
    (issue 19). ``where`` is SQL over the table's columns with ``%s`` for ``where_params``.
    """
    database = connections[DEFAULT_DB_ALIAS]
    fields = [model._meta.get_field(name) for name in values]
    kept = tuple(isinstance(values[field.name], IfNotNull) for field in fields)
    params = [
        field.get_db_prep_save(
            value.value if isinstance(value := values[field.name], IfNotNull) else value,
            database,
        )
        for field in fields
    ]
    sql = _update_sql(model, tuple(field.column for field in fields), kept, where)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params + list(where_params))
        return cursor.rowcount


@cache
def _update_sql(model, columns: tuple[str, ...], kept: tuple[bool, ...], where: str) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(
        f"{quote(column)} = CASE WHEN {quote(column)} IS NULL THEN NULL ELSE %s END"
        if if_not_null
        else f"{quote(column)} = %s"
        for column, if_not_null in zip(columns, kept, strict=True)
    )
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {where}"  # noqa: S608
