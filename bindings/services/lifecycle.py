"""The life of an active binding: its changes, its end and unbind, a check with the platform.

Which fields a mode may change, and which of them only the console keeps, are read from the mode
table (:mod:`bindings.modes`). Platform calls are made outside any transaction (a slow platform
never holds a row lock); each verb that needs one queues its task after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bindings import events, modes, platform, release
from bindings.choices import BindingStatus, EndReason
from bindings.models import Binding
from bindings.services import safeguards, work
from bindings.services.base import BindingRefused, hold, load, not_active
from bindings.services.binding import lifetime_end
from bindings.services.gateway import client_for, result_fields
from console import audit, jobs
from console.choices import AuditAction
from privatenumber.errors import PlatformError

# ---------------------------------------------------------------------------------------------
# Modify
# ---------------------------------------------------------------------------------------------


def modify_binding(
    binding: Binding, changes: Mapping[str, Any], *, user=None, request=None
) -> Binding:
    """Accept changes to an active binding: local fields at once, platform fields via a task."""
    mode = modes.of(binding.mode)
    unknown = sorted(set(changes) - set(mode.changeable))
    if unknown:
        raise BindingRefused(
            _("%(mode)s bindings cannot change: %(fields)s.")
            % {"mode": binding.mode, "fields": ", ".join(unknown)},
            rule="not_modifiable",
        )
    changes = {k: v for k, v in changes.items() if getattr(binding, k) != v}
    if not changes:
        return binding
    safeguards.check_tones(binding.application_id, changes)  # before the platform hears of it
    now = timezone.now()
    with transaction.atomic():
        locked = Binding.objects.select_for_update().get(pk=binding.pk)
        if locked.status != BindingStatus.ACTIVE:
            raise not_active(locked)
        local = {k: v for k, v in changes.items() if k in mode.local_fields}
        remote = {k: v for k, v in changes.items() if k not in local}
        if remote:
            trial = Binding(**{f.attname: getattr(locked, f.attname) for f in Binding._meta.fields})
            for name, value in {**locked.pending_changes, **remote}.items():
                setattr(trial, name, value)
            try:
                platform.modify_request(trial, {**locked.pending_changes, **remote})
            except platform.RequestRefused as refusal:
                raise BindingRefused(
                    _("The platform would refuse this change: %(problem)s")
                    % {"problem": refusal.problem},
                    rule="request",
                    field=refusal.field,
                ) from None
        fields: dict[str, Any] = dict(local)
        if "duration" in local:  # the console ends it itself: a new lifetime counts from now
            fields["expires_at"] = lifetime_end(local["duration"], now)
        if remote:
            fields["pending_changes"] = {**locked.pending_changes, **remote}
            fields["lease_until"] = jobs.lease()
        Binding.objects.filter(pk=binding.pk).update(updated_at=now, **fields)
        audit.record(
            AuditAction.MODIFY,
            locked,
            user=user,
            request=request,
            details={"fields": sorted(changes), "sent_to_platform": sorted(remote)},
        )
        if local:
            events.announce(binding, "binding.modified")
        if remote:
            work.MODIFY.send_on_commit(binding.pk, job=Binding.objects.filter(pk=binding.pk))
    binding.refresh_from_db()
    return binding


def apply_modification(binding_id: int) -> Binding | None:
    """Send the pending changes of a binding; on success they become its values."""
    binding = load(binding_id)
    if binding is None or not binding.pending_changes:
        return binding
    if binding.status != BindingStatus.ACTIVE:
        Binding.objects.filter(pk=binding.pk).update(pending_changes={})
        return binding
    hold(binding.pk)
    sent = dict(binding.pending_changes)
    for name, value in sent.items():
        setattr(binding, name, value)
    outcome: dict[str, Any]
    try:
        with client_for(binding.application, binding) as client:
            platform.send_modify(client, binding, sent)
    except platform.RequestRefused as refusal:
        outcome = result_fields(PlatformError("1010002", refusal.problem))
    except PlatformError as error:
        if not error.permanent:
            raise
        outcome = result_fields(error)
    else:
        outcome = {**sent, "last_result_code": "0", "last_result_desc": ""}
        if "duration" in sent and modes.of(binding.mode).platform_expires:
            # A new lifetime counts from the modification (spec §5.1.2).
            outcome["expires_at"] = lifetime_end(sent["duration"], timezone.now())
    with transaction.atomic():
        locked = Binding.objects.select_for_update().get(pk=binding.pk)
        remaining = {
            k: v for k, v in locked.pending_changes.items() if k not in sent or sent[k] != v
        }
        if not remaining and locked.status == BindingStatus.ACTIVE:
            outcome["lease_until"] = None  # changes made meanwhile keep their task's lease
        Binding.objects.filter(pk=binding.pk).update(
            pending_changes=remaining, updated_at=timezone.now(), **outcome
        )
        if outcome.get("last_result_code") == "0":
            events.announce(binding, "binding.modified")
    binding.refresh_from_db()
    return binding


# ---------------------------------------------------------------------------------------------
# End and unbind
# ---------------------------------------------------------------------------------------------


def _not_endable(binding: Binding) -> BindingRefused:
    if binding.status == BindingStatus.PENDING:
        return BindingRefused(
            _("This binding is still waiting for the platform's answer; end it once it is active."),
            rule="pending",
        )
    return not_active(binding, "ended")


def end_binding(
    binding: Binding, *, user=None, request=None, reason: str = EndReason.REQUESTED
) -> Binding:
    """Start ending an active binding: status ``ending`` now, the unbind runs as a task."""
    with transaction.atomic():
        started = Binding.objects.filter(pk=binding.pk, status=BindingStatus.ACTIVE).update(
            status=BindingStatus.ENDING,
            end_reason=reason,
            updated_at=timezone.now(),
            lease_until=jobs.lease(),
        )
        if not started:
            binding.refresh_from_db()
            raise _not_endable(binding)
        binding.refresh_from_db()
        audit.record(AuditAction.END, binding, user=user, request=request, details={})
        work.UNBIND.send_on_commit(binding.pk, job=Binding.objects.filter(pk=binding.pk))
    return binding


def end_bindings(queryset: QuerySet[Binding], *, user=None, request=None) -> tuple[int, int]:
    """End every active binding of ``queryset`` (bulk action); returns (ending, skipped)."""
    ending = skipped = 0
    ids = list(queryset.order_by().values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        with transaction.atomic():
            started = release.start_ending(
                Q(pk__in=chunk), end_reason=EndReason.BULK, now=timezone.now(), limit=len(chunk)
            )
            for binding in Binding.objects.filter(pk__in=started):
                audit.record(AuditAction.END, binding, user=user, request=request, details={})
            for binding_id in started:
                work.UNBIND.send_on_commit(binding_id, job=Binding.objects.filter(pk=binding_id))
        ending += len(started)
        skipped += len(chunk) - len(started)
    return ending, skipped


def unbind(binding_id: int) -> Binding | None:
    """Remove an ``ending`` binding from the platform and give its numbers back.

    "Not found" counts as done (the platform lost or expired it already); a transient failure
    propagates for Celery to retry; any other refusal puts the binding back to ``active`` with the
    platform's answer, so that a person sees why it could not be ended.
    """
    binding = load(binding_id)
    if binding is None or binding.status != BindingStatus.ENDING:
        return binding
    hold(binding.pk)
    result = {"last_result_code": "0", "last_result_desc": ""}
    if binding.subscription_id:
        try:
            with client_for(binding.application, binding) as client:
                platform.send_unbind(client, binding)
        except PlatformError as error:
            if not error.permanent:
                raise
            if error.code not in platform.NOT_FOUND_CODES:
                Binding.objects.filter(pk=binding.pk, status=BindingStatus.ENDING).update(
                    status=BindingStatus.ACTIVE,
                    end_reason="",
                    updated_at=timezone.now(),
                    lease_until=None,
                    **result_fields(error),
                )
                binding.refresh_from_db()
                return binding
            result = result_fields(error)
    final = (
        BindingStatus.EXPIRED if binding.end_reason == EndReason.EXPIRED else BindingStatus.ENDED
    )
    release.end_bindings(
        Q(pk=binding.pk),
        to_status=final,
        from_statuses=[BindingStatus.ENDING],
        set_fields=result,
    )
    binding.refresh_from_db()
    return binding


# ---------------------------------------------------------------------------------------------
# Ask the platform about one binding
# ---------------------------------------------------------------------------------------------


def request_sync(binding: Binding, *, user=None, request=None) -> None:
    """Queue a sync of one binding with the platform (audited)."""
    with transaction.atomic():
        audit.record(AuditAction.SYNC, binding, user=user, request=request, details={})
        work.SYNC.send_on_commit(binding.pk)  # nothing waits on it: no lease


def end_lost(ids: Iterable[int], note: str, now: datetime) -> int:
    """End active bindings the platform no longer has (``expired`` if their time was up)."""
    ids = list(ids)
    if not ids:
        return 0
    fields = {"end_reason": EndReason.LOST, "note": note[:256]}
    ended = release.end_bindings(
        Q(pk__in=ids, expires_at__lte=now),
        to_status=BindingStatus.EXPIRED,
        from_statuses=[BindingStatus.ACTIVE],
        set_fields=fields,
        now=now,
        many=True,
    )
    return ended + release.end_bindings(
        Q(pk__in=ids),
        to_status=BindingStatus.ENDED,
        from_statuses=[BindingStatus.ACTIVE],
        set_fields=fields,
        now=now,
        many=True,
    )


def sync_binding(binding_id: int) -> Binding | None:
    """Ask the platform about one active binding; one it lost is ended here with a note."""
    binding = load(binding_id)
    if binding is None or binding.status != BindingStatus.ACTIVE or not binding.subscription_id:
        return binding
    with client_for(binding.application, binding) as client:
        found = platform.exists(client, binding)
    now = timezone.now()
    if found:
        Binding.objects.filter(pk=binding.pk).update(
            last_result_code="0", last_result_desc="", updated_at=now
        )
    else:
        end_lost([binding.pk], _("not found on the platform when synced"), now)
    binding.refresh_from_db()
    return binding
