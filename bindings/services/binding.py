"""Bind: the bind task's work. Sent once; before any further attempt the platform is asked whether
an earlier one landed, so a binding is never made twice.

A mode that binds in two steps (AXYB: A–X, then Y–B) stores the first step's id before sending
the second; a mode whose X the platform counts (AXE) asks how full X is first. Both are read from
the mode table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from bindings import events, modes, platform, pool, release
from bindings.choices import BindingStatus, EndReason
from bindings.models import Binding, XNumber
from bindings.services.base import hold, load
from bindings.services.gateway import client_for, result_fields
from console import gateway, jobs
from console.sql import IfNotNull, update_where
from privatenumber.client import PrivateNumberClient
from privatenumber.errors import PlatformError
from privatenumber.unconfirmed import CODE_NO_IDLE_EXTENSION

logger = logging.getLogger(__name__)


def lifetime_end(seconds: int | None, start: datetime) -> datetime | None:
    """When a lifetime of ``seconds`` from ``start`` is up (None: never)."""
    return start + timedelta(seconds=seconds) if seconds else None


def in_flight_seconds() -> float:
    """The longest a bind request can be on its way: connect and read timeouts, and a second."""
    return settings.BINDINGS_PLATFORM_CONNECT_TIMEOUT + settings.BINDINGS_PLATFORM_READ_TIMEOUT + 1


def _claim_attempt(binding: Binding, *, renew_lease: bool = False) -> bool:
    """Count one more bind request before sending it, and mark it on its way; False if the
    binding is no longer pending, another run counted one meanwhile (compare-and-set: two runs
    never send the same attempt), or an earlier request may still be on its way (another run is
    waiting for its answer, or died waiting less than ``in_flight_seconds()`` ago: asking the
    platform would not see it, and a second request could bind twice).

    ``renew_lease``: the same UPDATE renews the worker's lease (what :func:`hold` does), for a
    bind that asks the platform nothing before it (one statement fewer, issue 19).
    """
    now = timezone.now()
    values: dict[str, Any] = {"bind_attempts": binding.bind_attempts + 1, "bind_sent_at": now}
    if renew_lease:
        values["lease_until"] = IfNotNull(jobs.lease(now=now))  # as hold() renews it
    claimed = update_where(
        Binding,
        values,
        "id = %s AND status = %s AND bind_attempts = %s"
        " AND (bind_sent_at IS NULL OR bind_sent_at < %s)",
        [
            binding.pk,
            BindingStatus.PENDING,
            binding.bind_attempts,
            connection.ops.adapt_datetimefield_value(now - timedelta(seconds=in_flight_seconds())),
        ],
    )
    binding.bind_attempts += 1
    return claimed == 1


def _no_longer_on_its_way(binding: Binding) -> None:
    Binding.objects.filter(pk=binding.pk, bind_attempts=binding.bind_attempts).update(
        bind_sent_at=None
    )


@contextmanager
def _answered(binding: Binding, *, activation_clears: bool = False) -> Iterator[None]:
    """Around a bind request claimed by :func:`_claim_attempt`: once it has an answer (or
    failed), it is no longer on its way.

    ``activation_clears``: an answer is followed by :func:`_activate`, whose UPDATE clears the
    mark with the status (one statement fewer; and no moment in which the binding is pending
    with nothing on its way, which another run could claim). A failure clears it here.
    """
    try:
        yield
    except BaseException:
        _no_longer_on_its_way(binding)
        raise
    if not activation_clears:
        _no_longer_on_its_way(binding)


def _activate(binding: Binding, subscription_id: str, *, second_id: str | None = None) -> None:
    now = timezone.now()
    expires = lifetime_end(binding.duration, now)
    fields: dict[str, Any] = {
        "status": BindingStatus.ACTIVE,
        "subscription_id": subscription_id,
        "bound_at": now,
        "expires_at": expires,
        "last_result_code": "0",
        "last_result_desc": "",
        "updated_at": now,
        "lease_until": None,  # nothing waits on a worker any more
        "bind_sent_at": None,  # the request has its answer (see _answered)
    }
    if modes.of(binding.mode).two_steps:
        yb_expires = lifetime_end(binding.yb_duration, now)
        if expires and (yb_expires is None or yb_expires > expires):
            yb_expires = None  # the YB part ends with the AX part
        fields.update(yb_subscription_id=second_id, yb_expires_at=yb_expires)
    # The application was loaded with the binding in this task: its flag says whether anybody
    # subscribed (as the push receivers read it), so a binding nobody hears about is one UPDATE.
    subscribed = binding.application.webhooks_on
    try:
        # The event is written with the change, or neither is; a savepoint inside a caller's
        # transaction, so that a refused id does not break it.
        with transaction.atomic() if subscribed or connection.in_atomic_block else nullcontext():
            updated = update_where(
                Binding, fields, "id = %s AND status = %s", [binding.pk, BindingStatus.PENDING]
            )
            if updated and subscribed:
                events.announce(binding, "binding.active", subscribed=True)
    except IntegrityError:
        # The platform gave an id another binding already has: never two rows for one binding.
        logger.error("binding %s: subscriptionId already stored on another binding", binding.pk)
        _fail(binding, PlatformError("BAD_RESPONSE", "subscriptionId already in use"))
        return
    if updated:
        for name, value in fields.items():
            setattr(binding, name, value)


def _fail(binding: Binding, error: PlatformError) -> None:
    """A refused bind: status failed with the code and its meaning; the numbers are given back
    at once, without a cool-down (the binding never held them, so nobody dials them yet)."""
    release.end_bindings(
        Q(pk=binding.pk),
        to_status=BindingStatus.FAILED,
        from_statuses=[BindingStatus.PENDING],
        set_fields={"end_reason": EndReason.REFUSED, **result_fields(error)},
        cool_down=False,
    )
    binding.refresh_from_db()


def bind(binding_id: int) -> Binding | None:
    """Send the bind of a pending binding; safe to run any number of times.

    A permanent refusal marks it ``failed``. A transient failure propagates (Celery retries);
    the next run asks the platform first whether the lost attempt landed and adopts it if so.
    """
    binding = load(binding_id)
    if binding is None or binding.status != BindingStatus.PENDING:
        return binding
    mode = modes.of(binding.mode)
    # A first single-step bind asks the platform nothing before it: its claim renews the lease.
    asks_first = bool(mode.two_steps or binding.bind_attempts or mode.counts_before_bind)
    if asks_first:
        hold(binding.pk)
    with client_for(binding.application, binding) as client:
        try:
            if mode.two_steps:
                _bind_two_steps(client, binding)
            else:
                subscription_id = None
                if binding.bind_attempts:
                    subscription_id = platform.find_landed(client, binding)
                    if subscription_id:
                        logger.info("binding %s: adopted the bind that landed", binding.pk)
                if subscription_id is None:
                    if mode.counts_before_bind:
                        _check_room(client, binding)
                    if not _claim_attempt(binding, renew_lease=not asks_first):
                        return binding
                    with _answered(binding, activation_clears=True):
                        subscription_id, _chosen = platform.send_bind(client, binding)
                _activate(binding, subscription_id)
        except platform.RequestRefused as refusal:
            _fail(binding, PlatformError("1010002", refusal.problem))
        except PlatformError as error:
            if not error.permanent:
                raise
            _fail(binding, error)
    return binding


def _check_room(client: PrivateNumberClient, binding: Binding) -> None:
    """Before a bind on a shared X the platform counts (AXE): ask how many bindings X carries
    (QueryAXEBindingCount).

    X full on the platform (spec §4: the extension range, capped by the recommended maximum)
    refuses the bind here with 1020167, without sending it; the count is kept on the number.
    The check only advises: when the platform cannot answer it (its answer's names are
    UNCONFIRMED), the bind goes ahead and the platform's own answer decides.
    """
    mode = modes.of(binding.mode)
    capacity = mode.per_x_capacity(binding.application.extension_length)
    try:
        answer = client.call(mode.interface("binding_count"), number=binding.x_number)
    except gateway.ApplicationPaused:
        raise
    except PlatformError as error:
        if not error.permanent:
            raise
        logger.warning(
            "binding %s: AXE count not available (%s); binding anyway", binding.pk, error
        )
        return
    on_platform = sum(
        item.bind_count for item in answer.number_list if item.number == binding.x_number
    )
    XNumber.objects.filter(pk=binding.x_id).update(
        platform_binding_count=on_platform, platform_counted_at=timezone.now()
    )
    if on_platform >= capacity:
        raise PlatformError(
            CODE_NO_IDLE_EXTENSION,
            f"{binding.x_number} carries {on_platform} AXE bindings on the platform; "
            f"it takes {capacity}",
        )


def _first_step_candidates(binding: Binding, limit: int = 20) -> list[str]:
    """The X numbers a first step that named only a city may have landed on: the one the console
    counted it on, then the other free numbers of its city (the platform chooses among those)."""
    others = (
        pool.usable(binding.application, timezone.now())
        .filter(city_code=platform.city_of(binding.x_number, binding) or "")
        .filter(binding_count=0, y_binding_count=0)
        .exclude(number=binding.x_number)
        .order_by("pk")
        .values_list("number", flat=True)[:limit]
    )
    return [binding.x_number, *others]


def _bind_two_steps(client: PrivateNumberClient, binding: Binding) -> None:
    """AXYB in two steps; the first step's id is stored before the second is sent.

    Each step names a city; the X and the Y the platform chose are recorded on the binding (and
    counted on those numbers) as soon as it answers.
    """
    if not binding.subscription_id:
        found = None
        if binding.bind_attempts:
            found = platform.find_first_step(client, binding, _first_step_candidates(binding))
        if found is None:
            if not _claim_attempt(binding):
                return
            with _answered(binding):
                found = platform.send_bind(client, binding)
        sid, x = found
        Binding.objects.filter(pk=binding.pk).update(subscription_id=sid)
        binding.subscription_id = sid
        if x and modes.of(binding.mode).platform_chooses_x:
            pool.move(binding, "x", x)
    landed = platform.find_second_step(client, binding) if binding.bind_attempts > 1 else None
    if landed is None:
        if not _claim_attempt(binding):
            return
        try:
            with _answered(binding):
                landed = platform.send_second(client, binding)
        except PlatformError as error:
            if not error.permanent:
                raise
            # The A–X part exists on the platform: remove it before calling the bind failed.
            platform.send_unbind(client, binding)
            raise
    second_id, y = landed
    if y:
        pool.move(binding, "y", y)
    _activate(binding, binding.subscription_id, second_id=second_id)


def abandon_bind(binding_id: int, error: PlatformError) -> Binding | None:
    """The retries are used up: adopt the binding if it landed after all, else mark it failed."""
    binding = load(binding_id)
    if binding is None or binding.status != BindingStatus.PENDING:
        return binding
    two_steps = modes.of(binding.mode).two_steps
    if two_steps and binding.subscription_id:
        # The A–X part landed; without its Y–B part it must not stay on the platform.
        try:
            with client_for(binding.application, binding) as client:
                platform.send_unbind(client, binding)
        except PlatformError:
            logger.warning("binding %s: could not remove the A-X part after giving up", binding_id)
    if binding.bind_attempts and not two_steps:
        try:
            with client_for(binding.application, binding) as client:
                subscription_id = platform.find_landed(client, binding)
        except PlatformError:
            subscription_id = None
        if subscription_id:
            _activate(binding, subscription_id)
            return binding
    _fail(binding, error)
    return binding
