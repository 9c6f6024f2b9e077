"""Django's PostgreSQL backend, with a health check that costs no round trip on a quiet socket.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before the first query of every
request and every Celery task (``shell/celery.py``) by sending ``SELECT 1``: about 0.1 ms of CPU,
half of it PostgreSQL's, and a round trip, on every push, page and bind (issue 19).

A connection that sits idle between two requests receives nothing unless something happened to
it: a terminated backend, a server shutting down or an idle-session timeout send their error
and close the socket; a ``NOTIFY`` or a changed reported setting send a message. So when the
connection is idle and nothing is waiting on its socket, it is usable. Anything else (something
arrived, a transaction left open or failed) gets Django's own ``SELECT 1``, which reads what
arrived and answers as before. A connection psycopg already knows is closed or broken is unusable
at once.

What this cannot see, neither can ``SELECT 1`` cheaply: a peer that vanished without closing
(a cut cable, a dead host) shows nothing on the socket until TCP gives up; ``SELECT 1`` would
wait for the same timeout.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq

# What makes an idle connection's socket need a look: data, urgent data, an error or a hang-up.
_ARRIVED = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's wrapper; only :meth:`is_usable` differs."""

    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        if raw.info.transaction_status == pq.TransactionStatus.IDLE and not _arrived(raw):
            return True
        return super().is_usable()


def _arrived(raw) -> bool:
    """Whether anything (data, an error, a hang-up) waits on the connection's socket."""
    poller = select.poll()
    poller.register(raw.pgconn.socket, _ARRIVED)
    return bool(poller.poll(0))
