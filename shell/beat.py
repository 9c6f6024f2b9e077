"""One beat in the whole installation, however many are started (issue 20).

Two beats would send every scheduled job twice. :class:`SingleBeatScheduler` is
django-celery-beat's scheduler with a lock: at every tick (at least every 5 s) a beat renews the
lock if it holds it, or takes it if nobody does, and schedules only while it holds it. Any other
beat stands by, ticking without sending, and takes over once the holder's lock has run out
(``BEAT_LOCK_SECONDS`` after it stopped renewing: a host lost, a process killed). So a second beat
is a hot standby rather than a hazard.

The lock is a Redis key set with ``NX`` and a time to live, renewed by compare-and-set (a Lua
script: only the holder's token renews it), on the broker's Redis (beat cannot work without its
broker anyway). On the embedded configuration without Redis (one machine by definition) it is an
exclusive ``flock`` on ``var/beat.lock``, which the kernel releases when the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "console:beat:lock"
# Renew our own lock (same token), or take a free one; 1 if we hold it now.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


_clients: dict[str, redis.Redis] = {}


def _redis_client() -> redis.Redis | None:
    """A client of the broker's Redis, or None on the filesystem broker (the embedded fallback)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
    return _clients[url]


class BeatLock:
    """The lock one beat holds while it schedules."""

    def __init__(self, *, seconds: float | None = None, path: Path | None = None) -> None:
        self.token = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex}"
        self.ttl_ms = int((seconds or settings.BEAT_LOCK_SECONDS) * 1000)
        self.path = path or Path(settings.VAR_DIR) / "beat.lock"
        self._file = None
        self.held = False

    def hold(self) -> bool:
        """Renew or take the lock; whether this beat holds it now."""
        client = _redis_client()
        if client is not None:
            held = bool(client.eval(_HOLD, 1, LOCK_KEY, self.token, self.ttl_ms))
        else:
            held = self._flock()
        if held != self.held:
            logger.warning(
                "beat %s %s",
                self.token,
                "holds the lock and schedules" if held else "stands by: another beat schedules",
            )
        self.held = held
        return held

    def _flock(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        client = _redis_client()
        if client is not None:
            client.eval(_RELEASE, 1, LOCK_KEY, self.token)
        if self._file is not None:
            self._file.close()
            self._file = None
        self.held = False


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler that sends nothing unless it holds :class:`BeatLock`."""

    def __init__(self, *args, **kwargs) -> None:
        self.lock = BeatLock()
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs) -> float:
        if not self.lock.hold():
            return self.max_interval
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.lock.release()
