"""kombu's Redis transport, with one Redis client per channel for the commands it sends.

kombu's Redis channel builds a new ``redis.Redis`` for every message it publishes
(``Channel.conn_or_acquire``), and building one (its table of response callbacks and the rest)
costs more CPU than the ``LPUSH`` it then sends: 0.20 ms against 0.13 ms on the project's
machine, paid by every binding created, recording queued and webhook batch sent (issue 19). A
client is thread-safe and borrows a connection from the channel's pool for each command, so the
channel keeps one and builds it again only when its pool was replaced (after a fork, or after
kombu disconnected it).

Used for ``redis://`` brokers (``CELERY_BROKER_TRANSPORT`` in ``shell/settings.py``); consuming
is kombu's own, unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager

from kombu.transport import redis


class Channel(redis.Channel):
    """kombu's channel, keeping the client of ``conn_or_acquire`` instead of building one each
    time."""

    _kept_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        kept = self._kept_client
        if kept is None or kept.connection_pool is not pool:
            kept = self._kept_client = self._create_client()
        yield kept


class Transport(redis.Transport):
    Channel = Channel
