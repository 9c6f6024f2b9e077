"""Django's Redis cache with one ``redis.Redis`` client per connection pool (issue 19).

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` around its pool for every command;
the constructor (argument checks, a deprecation wrapper, the response callbacks) cost more
CPU than the command's round trip, a few percent of a page that reads its session, its
permissions and the team generation from the cache. A ``redis.Redis`` is safe to share
between threads (each command takes a connection from the pool), so one per pool is kept.
Everything else is Django's.
"""

from __future__ import annotations

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients.setdefault(index, self._client(connection_pool=pool))
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
