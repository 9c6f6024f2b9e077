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

from functools import cache

from django.db import connection
from django.db.backends.utils import CursorWrapper


def prepared_cursor() -> CursorWrapper:
    """A cursor whose ``execute`` binds on the server and prepares the statement."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        # what connection.cursor() does, with our cursor class instead of create_cursor()'s
        return connection._prepare_cursor(_cursor_class()(connection.connection))


@cache
def _cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor  # needs psycopg

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    return PreparedCursor
