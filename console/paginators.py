"""Admin paginators for tables too large to count (healthchecks' idiom)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: a big table never runs ``COUNT(*)`` over all of it.

    Pages past the cap are still reachable by URL; the admin just stops offering them. Use with
    ``show_full_result_count = False`` so the changelist does not count the unfiltered table.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return len(self.object_list.values("pk")[: self.CAP + 1])
