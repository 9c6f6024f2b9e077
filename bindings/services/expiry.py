"""Time: end what is due, in set-based statements (beat runs :func:`expire_due` every minute).

Who ends a binding whose lifetime is up is read from the mode table: where the platform ends it
itself, the console only mirrors it (no platform call); where the console ends it (AX), it is
marked ``ending`` and unbound by tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bindings import modes, release
from bindings.choices import BindingStatus, EndReason
from bindings.models import Binding
from bindings.services import work

logger = logging.getLogger(__name__)


def expire_due(now: datetime | None = None) -> dict[str, int]:
    """End what is due, in set-based statements (beat runs this every minute).

    * bindings whose lifetime is over in a mode where the platform removes them itself (AXB, AXE,
      AXYB): mirrored (``expired``, numbers given back) without any platform call;
    * AXYB Y–B parts whose ybDuration is over: their Y numbers are given back;
    * bindings with a console-side lifetime (AX): marked ``ending`` and unbound by tasks;
    * numbers whose cooldown is over become available.
    """
    now = now or timezone.now()
    batch = settings.BINDINGS_EXPIRE_BATCH
    result = {"expired": 0, "yb_ended": 0, "ending": 0, "cooled": 0}
    after = None  # each batch starts where the one before it stopped (release.end_batch)
    while True:
        done, after = release.end_batch(
            Q(mode__in=modes.PLATFORM_EXPIRES, expires_at__lte=now),
            to_status=BindingStatus.EXPIRED,
            from_statuses=[BindingStatus.ACTIVE],
            set_fields={"end_reason": EndReason.EXPIRED},
            now=now,
            key="expires_at",
            after=after,
            limit=batch,
        )
        result["expired"] += done
        if done < batch:
            break
    after = None
    while True:
        done, after = release.end_yb_batch(
            Q(yb_expires_at__lte=now), now=now, after=after, limit=batch
        )
        result["yb_ended"] += done
        if done < batch:
            break
    ending = release.start_ending(
        Q(mode__in=modes.CONSOLE_EXPIRES, expires_at__lte=now),
        end_reason=EndReason.EXPIRED,
        now=now,
        limit=batch,
    )
    for binding_id in ending:
        work.UNBIND.send_on_commit(binding_id, job=partial(Binding.objects.filter, pk=binding_id))
    result["ending"] = len(ending)
    result["cooled"] = release.finish_cooling(now)
    if any(result.values()):
        logger.info("expiry: %s", result)
    return result
