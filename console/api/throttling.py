"""Rate limit per API key: a fixed one-minute window counted in the cache (Redis in production,
so every worker counts one key together); over the limit the answer is 429 with Retry-After."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from console.models import ApiKey


class ApiKeyThrottle(BaseThrottle):
    """``ApiKey.rate_per_minute`` (else ``API_RATE_PER_MINUTE``) requests per key per minute."""

    window = 60

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        return self.allow_key(key)

    def allow_key(self, key: ApiKey) -> bool:
        """Count one request against ``key``'s budget; whether it is still within it (for a
        request the key makes without being authenticated by it: a signed URL it asked for)."""
        limit = key.rate_per_minute or settings.API_RATE_PER_MINUTE
        now = time.time()
        window = int(now // self.window)
        name = f"api-rate:{key.pk}:{window}"
        cache.add(name, 0, self.window + 5)
        try:
            used = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, self.window + 5)
            used = 1
        self._wait = (window + 1) * self.window - now
        return used <= limit

    def wait(self) -> float:
        return max(1.0, getattr(self, "_wait", self.window))
