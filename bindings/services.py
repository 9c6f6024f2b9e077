"""The verbs of bindings and X-number pools. All business logic of the app lives here.

Views, admin actions and tasks parse their input, call one function of this module and answer.
Platform calls are made outside any database transaction (a slow platform must never hold a row
lock), through the kernel's :func:`console.gateway.client_for`, which writes a
:class:`~console.models.PlatformCall` row for every request.

Flows (docs/bindings.md has the long version):

* :func:`create_binding` checks every capacity rule of spec §4, chooses X (and Y, and the AXE
  extension) from the pool under row locks, saves the binding ``pending`` and queues the bind;
* :func:`bind` (a task) sends the bind once; before any further attempt it asks the platform
  whether an earlier one landed, so a binding is never made twice;
* :func:`end_binding` / :func:`unbind`, :func:`modify_binding` / :func:`apply_modification`,
  :func:`set_temporary_callee`, :func:`stop_call`, :func:`sync_binding`, :func:`reconcile`;
* :func:`expire_due` (beat) ends what is due in set-based statements;
* :func:`apply_x_number_status` applies the platform's X-number status pushes to the pool;
* :func:`start_number_import` / :func:`validate_number_import` / :func:`confirm_number_import` /
  :func:`run_number_import`: X numbers from CSV/XLSX, validated and imported by tasks.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bindings import platform, pool, uploads
from bindings.choices import (
    CONSOLE_EXPIRES,
    PLATFORM_EXPIRES,
    AreaMatchMode,
    BindingStatus,
    BulkJobStatus,
    EndReason,
    NumberImportState,
    NumberState,
)
from bindings.models import (
    Binding,
    BulkJob,
    NumberImport,
    Reconciliation,
    XNumber,
)
from bindings.number_import import NumberImporter, Refused
from console import audit, gateway, jobs
from console.choices import AuditAction, Mode
from console.gateway import client_for
from console.models import Application
from console.numbers import InvalidNumber, mask, normalize
from console.privacy import may_see_real_numbers
from privatenumber.client import PrivateNumberClient
from privatenumber.errors import PlatformError
from privatenumber.schemas import AXE_COUNT_FIRST_CURSOR, NumStatusPush
from privatenumber.unconfirmed import CODE_NO_IDLE_EXTENSION

logger = logging.getLogger(__name__)

# A valid global-format number that stands in for X while a request is checked before X is chosen.
_PLACEHOLDER_X = "+8617000000000"
_PLACEHOLDER_Y = "+8617000000001"


class BindingRefused(Exception):
    """A request refused by the console before anything was sent to the platform.

    ``message`` says which rule refused it, in the active language; ``field`` names the form
    field at fault (None: the whole request); ``rule`` is a short stable key for tests and logs.
    """

    def __init__(self, message: str, *, rule: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


def _load(binding_id: int) -> Binding | None:
    """A binding with its application, in one query and without the model's default ordering."""
    return Binding.objects.select_related("application").filter(pk=binding_id).order_by().first()


def _result_fields(error: PlatformError) -> dict[str, str]:
    return {
        "last_result_code": error.code[:32],
        "last_result_desc": platform.mask_text(error.description or error.meaning_en)[:256],
    }


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------

_COMMON = ("order_ref", "user_data", "record_flag", "record_hint_tone", "a_number", "area_code")
_COMMON += ("cost_tag",)  # the console's own label, for billing's cost allocation
CREATE_FIELDS: dict[str, tuple[str, ...]] = {
    Mode.AXB: (
        *_COMMON,
        "area_match_mode",
        "b_number",
        "duration",
        "call_direction",
        "max_duration",
        "last_min_voice",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
    ),
    Mode.AX: (
        *_COMMON,
        "area_match_mode",
        "duration",
        "call_direction",
        "max_duration",
        "last_min_voice",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
    ),
    Mode.AXE: (
        *_COMMON,
        "area_match_mode",
        "display_num_mode",
        "callback_num",
        "callback_tone",
        "duration",
        "callback_expired_time",
    ),
    Mode.AXYB: (
        *_COMMON,
        "area_match_mode",
        "b_number",
        "duration",
        "yb_duration",
        "call_direction",
        "caller_hint_tone",
        "callee_hint_tone",
    ),
}
_NUMBER_FIELDS = ("a_number", "b_number", "callback_num")


def _clean_values(mode: str, data: Mapping[str, Any]) -> dict[str, Any]:
    allowed = CREATE_FIELDS[mode]
    values = {
        name: value
        for name, value in data.items()
        if name in allowed and value is not None and value != ""
    }
    for name in _NUMBER_FIELDS:
        if name in values:
            try:
                values[name] = normalize(str(values[name]))
            except InvalidNumber as error:
                raise BindingRefused(error.messages[0], rule="number", field=name) from None
    if "a_number" not in values:
        raise BindingRefused(_("Enter the A number."), rule="required", field="a_number")
    if mode in (Mode.AXB, Mode.AXYB):
        if "b_number" not in values:
            raise BindingRefused(
                _("Enter the B number (%(mode)s binds two parties).") % {"mode": mode},
                rule="required",
                field="b_number",
            )
        if values["a_number"] == values["b_number"]:
            raise BindingRefused(
                _("A and B must be two different numbers."), rule="same_number", field="b_number"
            )
    return values


def _check_request(binding: Binding) -> None:
    """Build the bind request(s) now, so a field the platform would refuse is refused here."""
    real_x, real_y = binding.x_number, binding.y_number
    binding.x_number = real_x or _PLACEHOLDER_X
    try:
        platform.bind_request(binding)
        if binding.mode == Mode.AXYB:
            binding.y_number = real_y or _PLACEHOLDER_Y
            binding.subscription_id = binding.subscription_id or "check"
            platform.yb_request(binding)
    except platform.RequestRefused as refusal:
        raise BindingRefused(
            _("The platform would refuse this binding: %(problem)s") % {"problem": refusal.problem},
            rule="request",
            field=refusal.field,
        ) from None
    finally:
        binding.x_number, binding.y_number = real_x, real_y
        if binding.subscription_id == "check":
            binding.subscription_id = None


def _live_of_a(application: Application, a_number: str) -> int:
    return Binding.objects.filter(
        application=application, a_number=a_number, status__in=pool.LIVE
    ).count()


def _where(city_code: str, loose: bool) -> str:
    if not city_code:
        return _("any city")
    how = _("loose: same province first, then any") if loose else _("strict")
    return _("city %(city)s (%(how)s)") % {"city": city_code, "how": how}


def _no_number(
    application: Application, mode: str, role: pool.Role, city: str, loose: bool, now, parties
) -> BindingRefused:
    """The refusal when no number could be taken, naming the rule that left none."""
    where = _where(city, loose)
    free_without_avoid = parties is not None and any(
        pool.candidates(application, role, tier, now=now).exists()
        for tier in pool.city_tiers(city, loose)
    )
    if free_without_avoid and mode == Mode.AXB:
        return BindingRefused(
            _(
                "AXB rule: a user number may appear only once per X, and every usable X in "
                "%(where)s already carries A or B. Add X numbers to the pool or choose another "
                "city."
            )
            % {"where": where},
            rule="axb_number_once_per_x",
            field="area_code",
        )
    if free_without_avoid and mode == Mode.AXE:
        return BindingRefused(
            _(
                "AXE rule: an A number has at most one extension per X, and A already has one on "
                "every usable X in %(where)s."
            )
            % {"where": where},
            rule="axe_a_once_per_x",
            field="area_code",
        )
    rules = {
        Mode.AXB: _("an X carries at most %(n)s pairs") % {"n": pool.AXB_PAIRS_PER_X},
        Mode.AX: _("an X belongs to one A at a time"),
        Mode.AXE: _("an X carries at most %(n)s A numbers") % {"n": pool.axe_capacity(application)},
        Mode.AXYB: _("an X belongs to one A at a time"),
    }
    rule = rules[mode]
    if role.name == "y":
        rule = _("a Y carries at most %(n)s relations and is never an X") % {
            "n": pool.AXYB_RELATIONS_PER_Y
        }
    return BindingRefused(
        _(
            "No usable %(role)s number is free in %(where)s for %(application)s (%(rule)s; "
            "paused, unavailable, frozen, cooling-down and retired numbers are never chosen)."
        )
        % {
            "role": role.name.upper(),
            "where": where,
            "application": application.name,
            "rule": rule,
        },
        rule="pool_exhausted_y" if role.name == "y" else "pool_exhausted",
        field="area_code",
    )


def create_binding(
    application: Application,
    data: Mapping[str, Any],
    *,
    user=None,
    request=None,
    bulk_job: BulkJob | None = None,
    bulk_row: int | None = None,
) -> Binding:
    """Check the rules, choose the numbers, save the binding ``pending`` and queue its bind.

    ``data`` holds binding field values (a form's cleaned data); numbers in any typed form.
    Raises :class:`BindingRefused` naming the rule when the platform would refuse the binding.
    """
    from bindings.tasks import bind_binding_task

    mode = application.mode
    if mode not in CREATE_FIELDS:
        raise BindingRefused(
            _("X-mode applications have no bindings: the console decides each call."),
            rule="mode_x",
        )
    if not application.is_active:
        raise BindingRefused(
            _("Application %(name)s is not active.") % {"name": application.name},
            rule="application_inactive",
        )
    values = _clean_values(mode, data)
    values.setdefault("area_match_mode", AreaMatchMode.STRICT)
    binding = Binding(
        application=application,
        mode=mode,
        status=BindingStatus.PENDING,
        created_by=user if getattr(user, "pk", None) else None,
        bulk_job=bulk_job,
        bulk_row=bulk_row,
        **values,
    )
    _check_request(binding)
    city = binding.area_code
    loose = binding.area_match_mode == AreaMatchMode.LOOSE
    a, b = binding.a_number, binding.b_number
    now = timezone.now()
    with transaction.atomic():
        if mode in (Mode.AX, Mode.AXYB):
            # One A holds at most 5 X (spec §4): count under a lock on A.
            pool.lock_party(application.pk, a)
            held = _live_of_a(application, a)
            if held >= pool.AX_X_PER_A:
                raise BindingRefused(
                    _(
                        "%(mode)s rule: one A number may hold at most %(max)s X numbers; "
                        "%(a)s already holds %(held)s."
                    )
                    % {"mode": mode, "max": pool.AX_X_PER_A, "a": mask(a), "held": held},
                    rule="a_holds_5",
                    field="a_number",
                )
        role = pool.role_for(mode, application)
        parties = None
        if mode == Mode.AXB:
            parties = pool.Parties((a, b), as_a_or_b=True)  # a user number once per X
        elif mode == Mode.AXE:
            parties = pool.Parties((a,), as_a_or_b=False)  # one extension per A per X
        x = pool.take(application, role, city_code=city, loose=loose, now=now, parties=parties)
        if x is None:
            raise _no_number(application, mode, role, city, loose, now, parties)
        binding.x, binding.x_number = x, x.number
        if mode == Mode.AXE:
            binding.extension = pool.free_extension(x, application)
            if not binding.extension:
                raise _no_number(application, mode, role, city, loose, now, None)
        if mode == Mode.AXYB:
            y_role = pool.role_for(mode, application, as_y=True)
            y = pool.take(
                application,
                y_role,
                city_code=city,
                loose=loose,
                now=now,
                exclude_ids=[x.pk],
                wait_if_locked=False,  # this transaction holds X's lock already
            )
            if y is None:
                raise _no_number(application, mode, y_role, city, loose, now, None)
            binding.y, binding.y_number = y, y.number
        binding.lease_until = jobs.lease()
        binding.save()
        audit.record(
            AuditAction.CREATE,
            binding,
            user=user,
            request=request,
            details={"mode": mode, "x": binding.x_number, "order_ref": binding.order_ref},
        )
        # Queued after commit; a broker that cannot be reached leaves the binding to the sweeper
        # (``binding.sending.queued`` is False then: the page says so instead of a 500).
        binding.sending = jobs.send_on_commit(
            bind_binding_task, binding.pk, job=Binding.objects.filter(pk=binding.pk)
        )
    return binding


# ---------------------------------------------------------------------------------------------
# Bind (the task's work)
# ---------------------------------------------------------------------------------------------


def _lifetime(seconds: int | None, start: datetime) -> datetime | None:
    return start + timedelta(seconds=seconds) if seconds else None


def _claim_attempt(binding: Binding) -> bool:
    """Count one more bind request before sending it; False if the binding is no longer pending
    or another run counted one meanwhile (compare-and-set: two runs never both send)."""
    claimed = Binding.objects.filter(
        pk=binding.pk, status=BindingStatus.PENDING, bind_attempts=binding.bind_attempts
    ).update(bind_attempts=binding.bind_attempts + 1)
    binding.bind_attempts += 1
    return claimed == 1


def _activate(binding: Binding, subscription_id: str, *, yb_subscription_id: str | None = None):
    now = timezone.now()
    expires = _lifetime(binding.duration, now)
    fields: dict[str, Any] = {
        "status": BindingStatus.ACTIVE,
        "subscription_id": subscription_id,
        "bound_at": now,
        "expires_at": expires,
        "last_result_code": "0",
        "last_result_desc": "",
        "updated_at": now,
        "lease_until": None,  # nothing waits on a worker any more
    }
    if binding.mode == Mode.AXYB:
        yb_expires = _lifetime(binding.yb_duration, now)
        if expires and (yb_expires is None or yb_expires > expires):
            yb_expires = None  # the YB part ends with the AX part
        fields.update(yb_subscription_id=yb_subscription_id, yb_expires_at=yb_expires)
    try:
        updated = Binding.objects.filter(pk=binding.pk, status=BindingStatus.PENDING).update(
            **fields
        )
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
    pool.end_bindings(
        Q(pk=binding.pk),
        to_status=BindingStatus.FAILED,
        from_statuses=[BindingStatus.PENDING],
        set_fields={"end_reason": EndReason.REFUSED, **_result_fields(error)},
        cool_down=False,
    )
    binding.refresh_from_db()


def bind(binding_id: int) -> Binding | None:
    """Send the bind of a pending binding; safe to run any number of times.

    A permanent refusal marks it ``failed``. A transient failure propagates (Celery retries);
    the next run asks the platform first whether the lost attempt landed and adopts it if so.
    """
    binding = _load(binding_id)
    if binding is None or binding.status != BindingStatus.PENDING:
        return binding
    hold(binding.pk)
    with client_for(binding.application, binding) as client:
        try:
            if binding.mode == Mode.AXYB:
                _bind_axyb(client, binding)
            else:
                subscription_id = None
                if binding.bind_attempts:
                    subscription_id = platform.find_landed(client, binding)
                    if subscription_id:
                        logger.info("binding %s: adopted the bind that landed", binding.pk)
                if subscription_id is None:
                    if binding.mode == Mode.AXE:
                        _check_axe_room(client, binding)
                    if not _claim_attempt(binding):
                        return binding
                    subscription_id, _chosen = platform.send_bind(client, binding)
                _activate(binding, subscription_id)
        except platform.RequestRefused as refusal:
            _fail(binding, PlatformError("1010002", refusal.problem))
        except PlatformError as error:
            if not error.permanent:
                raise
            _fail(binding, error)
    return binding


def _check_axe_room(client: PrivateNumberClient, binding: Binding) -> None:
    """Before an AXE bind: ask the platform how many bindings X carries (QueryAXEBindingCount).

    X full on the platform (spec §4: the extension range, capped by the recommended maximum)
    refuses the bind here with 1020167, without sending it; the count is kept on the number.
    The check only advises: when the platform cannot answer it (its answer's names are
    UNCONFIRMED), the bind goes ahead and the platform's own answer decides.
    """
    capacity = pool.axe_capacity(binding.application)
    try:
        answer = client.axe_binding_count(binding.x_number)
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


def count_axe_bindings(application: Application) -> int:
    """Ask the platform how many AXE bindings each X of ``application`` carries, page by page
    (QueryAXEBindingCount), and keep it on the numbers for the pool usage page.

    Returns how many of the application's numbers were counted.
    """
    now = timezone.now()
    counted = 0
    with client_for(application) as client:
        cursor: str | None = AXE_COUNT_FIRST_CURSOR
        while cursor:
            page = client.axe_binding_count(cursor=cursor, limit=100)
            counts = {item.number: item.bind_count for item in page.number_list}
            numbers = list(XNumber.objects.filter(application=application, number__in=counts))
            for number in numbers:
                number.platform_binding_count = counts[number.number]
                number.platform_counted_at = now
            XNumber.objects.bulk_update(
                numbers, ["platform_binding_count", "platform_counted_at"], batch_size=100
            )
            counted += len(numbers)
            cursor = page.next_cursor if page.number_list else None
    return counted


def _axyb_candidates(binding: Binding, limit: int = 20) -> list[str]:
    """The X numbers an AXYB first step may have landed on: the one the console counted it on,
    then the other free numbers of its city (the platform chooses among those)."""
    others = (
        pool.usable(binding.application, timezone.now())
        .filter(city_code=platform.city_of(binding.x_number, binding) or "")
        .filter(binding_count=0, y_binding_count=0)
        .exclude(number=binding.x_number)
        .order_by("pk")
        .values_list("number", flat=True)[:limit]
    )
    return [binding.x_number, *others]


def _bind_axyb(client: PrivateNumberClient, binding: Binding) -> None:
    """AXYB in two steps; the first step's id is stored before the second is sent.

    Each step names a city; the X and the Y the platform chose are recorded on the binding (and
    counted on those numbers) as soon as it answers.
    """
    if not binding.subscription_id:
        found = None
        if binding.bind_attempts:
            found = platform.find_landed_axyb(client, binding, _axyb_candidates(binding))
        if found is None:
            if not _claim_attempt(binding):
                return
            found = platform.send_bind(client, binding)
        sid, x = found
        Binding.objects.filter(pk=binding.pk).update(subscription_id=sid)
        binding.subscription_id = sid
        if x:
            pool.move(binding, "x", x)
    landed = platform.find_landed_yb(client, binding) if binding.bind_attempts > 1 else None
    if landed is None:
        if not _claim_attempt(binding):
            return
        try:
            landed = platform.send_yb(client, binding)
        except PlatformError as error:
            if not error.permanent:
                raise
            # The A–X part exists on the platform: remove it before calling the bind failed.
            platform.send_unbind(client, binding)
            raise
    yb_id, y = landed
    if y:
        pool.move(binding, "y", y)
    _activate(binding, binding.subscription_id, yb_subscription_id=yb_id)


def hold(binding_id: int, seconds: float | None = None) -> None:
    """A worker works on this binding now: a fresh lease (``JOBS_LEASE_SECONDS``, or the longest
    wait before a retry when the task was put off)."""
    Binding.objects.filter(pk=binding_id, lease_until__isnull=False).update(
        lease_until=jobs.lease(seconds)
    )


def abandon_bind(binding_id: int, error: PlatformError) -> Binding | None:
    """The retries are used up: adopt the binding if it landed after all, else mark it failed."""
    binding = _load(binding_id)
    if binding is None or binding.status != BindingStatus.PENDING:
        return binding
    if binding.mode == Mode.AXYB and binding.subscription_id:
        # The A–X part landed; without its Y–B part it must not stay on the platform.
        try:
            with client_for(binding.application, binding) as client:
                platform.send_unbind(client, binding)
        except PlatformError:
            logger.warning("binding %s: could not remove the A-X part after giving up", binding_id)
    if binding.bind_attempts and binding.mode != Mode.AXYB:
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


# ---------------------------------------------------------------------------------------------
# Modify
# ---------------------------------------------------------------------------------------------

# Fields kept only by the console: changed at once, nothing is sent.
LOCAL_FIELDS: dict[str, tuple[str, ...]] = {
    Mode.AXB: ("order_ref", "cost_tag"),
    Mode.AX: ("order_ref", "cost_tag", "duration"),
    Mode.AXE: ("order_ref", "cost_tag"),
    Mode.AXYB: ("order_ref", "cost_tag"),
}


def modify_binding(
    binding: Binding, changes: Mapping[str, Any], *, user=None, request=None
) -> Binding:
    """Accept changes to an active binding: local fields at once, platform fields via a task."""
    from bindings.tasks import modify_binding_task

    local_allowed = LOCAL_FIELDS.get(binding.mode, ())
    remote_allowed = platform.MODIFIABLE.get(binding.mode, ())
    unknown = sorted(set(changes) - set(local_allowed) - set(remote_allowed))
    if unknown:
        raise BindingRefused(
            _("%(mode)s bindings cannot change: %(fields)s.")
            % {"mode": binding.mode, "fields": ", ".join(unknown)},
            rule="not_modifiable",
        )
    changes = {k: v for k, v in changes.items() if getattr(binding, k) != v}
    if not changes:
        return binding
    now = timezone.now()
    with transaction.atomic():
        locked = Binding.objects.select_for_update().get(pk=binding.pk)
        if locked.status != BindingStatus.ACTIVE:
            raise BindingRefused(
                _("Only active bindings can be changed; this one is %(status)s.")
                % {"status": locked.get_status_display()},
                rule="not_active",
            )
        local = {k: v for k, v in changes.items() if k in local_allowed}
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
        if binding.mode == Mode.AX and "duration" in local:
            fields["expires_at"] = _lifetime(local["duration"], now)
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
        if remote:
            jobs.send_on_commit(
                modify_binding_task, binding.pk, job=Binding.objects.filter(pk=binding.pk)
            )
    binding.refresh_from_db()
    return binding


def apply_modification(binding_id: int) -> Binding | None:
    """Send the pending changes of a binding; on success they become its values."""
    binding = _load(binding_id)
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
        outcome = _result_fields(PlatformError("1010002", refusal.problem))
    except PlatformError as error:
        if not error.permanent:
            raise
        outcome = _result_fields(error)
    else:
        outcome = {**sent, "last_result_code": "0", "last_result_desc": ""}
        if "duration" in sent and binding.mode in PLATFORM_EXPIRES:
            # A new lifetime counts from the modification (spec §5.1.2).
            outcome["expires_at"] = _lifetime(sent["duration"], timezone.now())
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
    return BindingRefused(
        _("Only active bindings can be ended; this one is %(status)s.")
        % {"status": binding.get_status_display()},
        rule="not_active",
    )


def end_binding(
    binding: Binding, *, user=None, request=None, reason: str = EndReason.REQUESTED
) -> Binding:
    """Start ending an active binding: status ``ending`` now, the unbind runs as a task."""
    from bindings.tasks import unbind_binding_task

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
        jobs.send_on_commit(
            unbind_binding_task, binding.pk, job=Binding.objects.filter(pk=binding.pk)
        )
    return binding


def end_bindings(queryset: QuerySet[Binding], *, user=None, request=None) -> tuple[int, int]:
    """End every active binding of ``queryset`` (bulk action); returns (ending, skipped)."""
    from bindings.tasks import unbind_binding_task

    ending = skipped = 0
    ids = list(queryset.order_by().values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        with transaction.atomic():
            started = pool.start_ending(
                Q(pk__in=chunk), end_reason=EndReason.BULK, now=timezone.now(), limit=len(chunk)
            )
            for binding in Binding.objects.filter(pk__in=started):
                audit.record(AuditAction.END, binding, user=user, request=request, details={})
            for binding_id in started:
                jobs.send_on_commit(
                    unbind_binding_task, binding_id, job=Binding.objects.filter(pk=binding_id)
                )
        ending += len(started)
        skipped += len(chunk) - len(started)
    return ending, skipped


def unbind(binding_id: int) -> Binding | None:
    """Remove an ``ending`` binding from the platform and give its numbers back.

    "Not found" counts as done (the platform lost or expired it already); a transient failure
    propagates for Celery to retry; any other refusal puts the binding back to ``active`` with the
    platform's answer, so that a person sees why it could not be ended.
    """
    binding = _load(binding_id)
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
                    **_result_fields(error),
                )
                binding.refresh_from_db()
                return binding
            result = _result_fields(error)
    final = (
        BindingStatus.EXPIRED if binding.end_reason == EndReason.EXPIRED else BindingStatus.ENDED
    )
    pool.end_bindings(
        Q(pk=binding.pk),
        to_status=final,
        from_statuses=[BindingStatus.ENDING],
        set_fields=result,
    )
    binding.refresh_from_db()
    return binding


# ---------------------------------------------------------------------------------------------
# AX temporary callee, AXYB stop-call
# ---------------------------------------------------------------------------------------------

TEMPORARY_CALLEE_MAX_SECONDS = 259200  # 3 days (spec §5.2.5)


def set_temporary_callee(
    binding: Binding,
    callee: str,
    *,
    duration: int | None = None,
    user=None,
    request=None,
) -> Binding:
    """AX: whom A reaches by dialling X, for ``duration`` seconds (platform default 60).

    Sent at once (a person is waiting); a platform refusal raises :class:`PlatformError` after
    the answer is stored on the binding and audited.
    """
    if binding.mode != Mode.AX:
        raise BindingRefused(
            _("Only AX bindings have a temporary callee."), rule="not_ax", field=None
        )
    if binding.status != BindingStatus.ACTIVE:
        raise BindingRefused(
            _("Only active bindings can be changed; this one is %(status)s.")
            % {"status": binding.get_status_display()},
            rule="not_active",
        )
    try:
        callee = normalize(callee)
    except InvalidNumber as error:
        raise BindingRefused(error.messages[0], rule="number", field="callee") from None
    if callee == binding.a_number:
        raise BindingRefused(
            _("The temporary callee must differ from A."), rule="same_number", field="callee"
        )
    if duration is not None and not 1 <= duration <= TEMPORARY_CALLEE_MAX_SECONDS:
        raise BindingRefused(
            _("The duration must be between 1 and %(max)s seconds (3 days).")
            % {"max": TEMPORARY_CALLEE_MAX_SECONDS},
            rule="duration",
            field="duration",
        )
    seconds = duration or 60
    details = {"callee": mask(callee), "duration": seconds}
    try:
        with client_for(binding.application, binding) as client:
            client.ax_set_temporary_callee(
                orig_num=binding.a_number,
                private_num=binding.x_number,
                callee_num=callee,
                duration=duration,
            )
    except PlatformError as error:
        Binding.objects.filter(pk=binding.pk).update(
            updated_at=timezone.now(), **_result_fields(error)
        )
        audit.record(
            AuditAction.SET_CALLEE,
            binding,
            user=user,
            request=request,
            details={**details, "result": error.code},
        )
        raise
    now = timezone.now()
    Binding.objects.filter(pk=binding.pk).update(
        temporary_callee=callee,
        temporary_callee_expires_at=now + timedelta(seconds=seconds),
        last_result_code="0",
        last_result_desc="",
        updated_at=now,
    )
    audit.record(
        AuditAction.SET_CALLEE,
        binding,
        user=user,
        request=request,
        details={**details, "result": "0"},
    )
    binding.refresh_from_db()
    return binding


def stop_call(application: Application, session_id: str, user, *, request=None) -> None:
    """AXYB: hang up the call with this ``sessionId`` (from its call events); audited.

    Raises :class:`PlatformError` when the platform refuses (e.g. the call already ended).
    """
    if application.mode != Mode.AXYB:
        raise BindingRefused(
            _("Stopping a call is an AXYB interface; %(name)s is %(mode)s.")
            % {"name": application.name, "mode": application.mode},
            rule="not_axyb",
        )
    result = "0"
    try:
        with client_for(application) as client:
            client.stop_call(session_id)
    except PlatformError as error:
        result = error.code
        raise
    finally:
        audit.record(
            AuditAction.STOP_CALL,
            application,
            user=user,
            request=request,
            details={"session_id": session_id[:256], "result": result},
        )


# ---------------------------------------------------------------------------------------------
# Sync one binding, reconcile an application
# ---------------------------------------------------------------------------------------------


def request_sync(binding: Binding, *, user=None, request=None) -> None:
    """Queue a sync of one binding with the platform (audited)."""
    from bindings.tasks import sync_binding_task

    with transaction.atomic():
        audit.record(AuditAction.SYNC, binding, user=user, request=request, details={})
        jobs.send_on_commit(sync_binding_task, binding.pk)  # nothing waits on it: no lease


def _end_lost(ids: Iterable[int], note: str, now: datetime) -> int:
    ids = list(ids)
    if not ids:
        return 0
    fields = {"end_reason": EndReason.LOST, "note": note[:256]}
    ended = pool.end_bindings(
        Q(pk__in=ids, expires_at__lte=now),
        to_status=BindingStatus.EXPIRED,
        from_statuses=[BindingStatus.ACTIVE],
        set_fields=fields,
        now=now,
        many=True,
    )
    return ended + pool.end_bindings(
        Q(pk__in=ids),
        to_status=BindingStatus.ENDED,
        from_statuses=[BindingStatus.ACTIVE],
        set_fields=fields,
        now=now,
        many=True,
    )


def sync_binding(binding_id: int) -> Binding | None:
    """Ask the platform about one active binding; one it lost is ended here with a note."""
    binding = _load(binding_id)
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
        _end_lost([binding.pk], _("not found on the platform when synced"), now)
    binding.refresh_from_db()
    return binding


def start_reconcile(
    application: Application, number_ids: list[int], *, user=None, request=None
) -> Reconciliation:
    """Queue a reconciliation of some of ``application``'s numbers; its page shows the progress."""
    from bindings.tasks import reconcile_bindings_task

    with transaction.atomic():
        run = Reconciliation.objects.create(
            application=application,
            triggered_by=user if getattr(user, "pk", None) else None,
            # The numbers, for the sweeper to run it again if its worker is lost.
            details={"total": len(number_ids), "number_ids": number_ids},
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.SYNC,
            application,
            user=user,
            request=request,
            details={"numbers": len(number_ids), "reconciliation": run.pk},
        )
        jobs.send_on_commit(
            reconcile_bindings_task,
            application.pk,
            number_ids,
            run_id=run.pk,
            job=Reconciliation.objects.filter(pk=run.pk),
        )
    return run


def reconcile(
    application: Application,
    *,
    numbers: QuerySet[XNumber] | None = None,
    user=None,
    request=None,
    run: Reconciliation | None = None,
) -> Reconciliation:
    """Compare the console's active bindings with the platform's, number by number.

    Bindings active here that the platform no longer has are ended (``end_reason`` lost, or
    expired if their time was up); bindings only the platform has are reported, not touched.
    ``numbers_checked`` is saved as it goes (twice a second at most) against ``details["total"]``,
    for the progress shown on the run's page. A ``run`` already finished is left as it is.
    """
    if run is None:
        run = Reconciliation.objects.create(
            application=application,
            triggered_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
    elif run.finished_at is not None:
        return run
    started = run.started_at
    numbers = numbers if numbers is not None else XNumber.objects.all()
    numbers = numbers.filter(application=application).order_by("pk")
    run.details = {**run.details, "total": numbers.count()}
    Reconciliation.objects.filter(pk=run.pk).update(
        details=run.details, numbers_checked=0, lease_until=jobs.lease()
    )
    last_save = timezone.now()
    lost: list[int] = []
    unknown: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    stats = {"numbers_checked": 0, "platform_bindings": 0, "matched": 0}
    with client_for(application) as client:
        for number in numbers.iterator(chunk_size=500):
            if (timezone.now() - last_save).total_seconds() >= 0.5:
                Reconciliation.objects.filter(pk=run.pk).update(
                    numbers_checked=stats["numbers_checked"], lease_until=jobs.lease()
                )
                last_save = timezone.now()
            stats["numbers_checked"] += 1
            try:
                listed = list(platform.list_on_number(client, application.mode, number.number))
            except PlatformError as error:
                failures.append({"number": number.number, "code": error.code})
                continue
            stats["platform_bindings"] += len(listed)
            listed_ids = {item.subscription_id for item in listed}
            # Ours on this number as X, bound before the run began (later ones may not show yet).
            as_x = Binding.objects.filter(
                x=number, status=BindingStatus.ACTIVE, bound_at__lt=started
            ).values_list("pk", "subscription_id", "yb_subscription_id")
            for pk, sid, yb_sid in as_x:
                if sid in listed_ids or (yb_sid and yb_sid in listed_ids):
                    stats["matched"] += 1
                else:
                    lost.append(pk)
            ours = {
                sid: status
                for sid, yb_sid, status in Binding.objects.filter(application=application)
                .filter(Q(subscription_id__in=listed_ids) | Q(yb_subscription_id__in=listed_ids))
                .values_list("subscription_id", "yb_subscription_id", "status")
                for sid in (sid, yb_sid)
                if sid in listed_ids
            }
            # A bind in flight may have landed before its answer was stored: not unknown.
            in_flight = set(
                Binding.objects.filter(
                    Q(x=number) | Q(y=number), status=BindingStatus.PENDING
                ).values_list("a_number", flat=True)
            )
            for item in listed:
                status = ours.get(item.subscription_id)
                if status in pool.LIVE or item.a_number in in_flight:
                    continue
                entry = item.masked()
                if status:
                    entry["here"] = status  # ours, but ended here: still on the platform
                if len(unknown) < 500:
                    unknown.append(entry)
                else:
                    run.details["truncated"] = True
    now = timezone.now()
    note = _("not found on the platform by reconciliation #%(id)s") % {"id": run.pk}
    ended = _end_lost(lost, note, now)
    run.finished_at = timezone.now()
    run.lease_until = None
    run.lost = ended
    run.unknown = len(unknown)
    run.failures = len(failures)
    run.numbers_checked = stats["numbers_checked"]
    run.platform_bindings = stats["platform_bindings"]
    run.matched = stats["matched"]
    run.details = {
        **run.details,
        "unknown": unknown,
        "failures": failures[:500],
        "lost": lost[:500],
    }
    run.save()
    if user is not None:
        audit.record(
            AuditAction.SYNC,
            run,
            user=user,
            request=request,
            details={"lost": ended, "unknown": len(unknown)},
        )
    logger.info(
        "reconciliation %s of application %s: %s checked, %s lost, %s unknown, %s failures",
        run.pk,
        application.pk,
        run.numbers_checked,
        ended,
        len(unknown),
        len(failures),
    )
    return run


# ---------------------------------------------------------------------------------------------
# Time: expiry and cooldown
# ---------------------------------------------------------------------------------------------


def expire_due(now: datetime | None = None) -> dict[str, int]:
    """End what is due, in set-based statements (beat runs this every minute).

    * AXB, AXYB and AXE bindings whose lifetime is over: the platform removed them itself, so
      they are mirrored (``expired``, numbers given back) without any platform call;
    * AXYB Y–B parts whose ybDuration is over: their Y numbers are given back;
    * AX bindings with a console-side lifetime: marked ``ending`` and unbound by tasks;
    * numbers whose cooldown is over become available.
    """
    from bindings.tasks import unbind_binding_task

    now = now or timezone.now()
    batch = settings.BINDINGS_EXPIRE_BATCH
    result = {"expired": 0, "yb_ended": 0, "ending": 0, "cooled": 0}
    while True:
        done = pool.end_bindings(
            Q(mode__in=PLATFORM_EXPIRES, expires_at__lte=now),
            to_status=BindingStatus.EXPIRED,
            from_statuses=[BindingStatus.ACTIVE],
            set_fields={"end_reason": EndReason.EXPIRED},
            now=now,
            limit=batch,
            order_by="expires_at",
            skip_locked=True,
            many=True,
        )
        result["expired"] += done
        if done < batch:
            break
    while True:
        done = pool.end_yb_parts(Q(yb_expires_at__lte=now), now=now, limit=batch)
        result["yb_ended"] += done
        if done < batch:
            break
    ending = pool.start_ending(
        Q(mode__in=CONSOLE_EXPIRES, expires_at__lte=now),
        end_reason=EndReason.EXPIRED,
        now=now,
        limit=batch,
    )
    for binding_id in ending:
        jobs.send_on_commit(
            unbind_binding_task, binding_id, job=Binding.objects.filter(pk=binding_id)
        )
    result["ending"] = len(ending)
    result["cooled"] = pool.finish_cooling(now)
    if any(result.values()):
        logger.info("expiry: %s", result)
    return result


# ---------------------------------------------------------------------------------------------
# The pool: X-number status pushes, retire / reinstate
# ---------------------------------------------------------------------------------------------


def apply_x_number_status(application: Application, push: NumStatusPush) -> int:
    """Apply an X-number status push (spec §6.3) to the pool; returns how many numbers changed.

    Status 9 (paused) and 10 (unavailable) take a number out of the choice, 11 (binding frozen)
    stops new bindings while existing ones keep working, 5 makes it usable again; the cause is
    kept. Idempotent: the same push applied twice changes nothing the second time.
    """
    now = timezone.now()
    groups: dict[tuple[str, str], list[str]] = {}
    for info in push.num_info:
        groups.setdefault((info.status, info.cause or ""), []).append(info.number)
    changed = 0
    with transaction.atomic():
        for (status, cause), numbers in groups.items():
            changed += (
                XNumber.objects.filter(application=application, number__in=numbers)
                .exclude(platform_status=status, platform_cause=cause)
                .update(
                    platform_status=status,
                    platform_cause=cause,
                    platform_status_at=now,
                    updated_at=now,
                )
            )
    mentioned = [info.number for info in push.num_info]
    known = XNumber.objects.filter(application=application, number__in=mentioned).count()
    if known < len(set(mentioned)):
        logger.warning(
            "X-number status push for application %s names %d number(s) not in its pool",
            application.pk,
            len(set(mentioned)) - known,
        )
    return changed


def retire_numbers(queryset: QuerySet[XNumber], *, user=None, request=None) -> int:
    """Take numbers out of the pool for good (their live bindings keep working)."""
    with transaction.atomic():
        numbers = list(queryset.exclude(state=NumberState.RETIRED))
        changed = XNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
            state=NumberState.RETIRED, updated_at=timezone.now()
        )
        for number in numbers:
            audit.record(
                AuditAction.MODIFY, number, user=user, request=request, details={"state": "retired"}
            )
    return changed


def reinstate_numbers(queryset: QuerySet[XNumber], *, user=None, request=None) -> int:
    """Put retired numbers back into the pool."""
    now = timezone.now()
    with transaction.atomic():
        numbers = list(queryset.filter(state=NumberState.RETIRED))
        ids = [n.pk for n in numbers]
        XNumber.objects.filter(pk__in=ids, binding_count=0, y_binding_count=0).update(
            state=NumberState.AVAILABLE, cooling_until=None, updated_at=now
        )
        XNumber.objects.filter(pk__in=ids, state=NumberState.RETIRED).update(
            state=NumberState.IN_USE, updated_at=now
        )
        for number in numbers:
            audit.record(
                AuditAction.MODIFY,
                number,
                user=user,
                request=request,
                details={"state": "reinstated"},
            )
    return len(ids)


# ---------------------------------------------------------------------------------------------
# Revealing a real number
# ---------------------------------------------------------------------------------------------

REVEALABLE = ("a_number", "b_number", "temporary_callee", "callback_num")


def can_reveal(user) -> bool:
    """The role decides (``console.privacy``: ``console.view_real_numbers``)."""
    return may_see_real_numbers(user)


def reveal_number(binding: Binding, party: str, *, user, request=None) -> str:
    """The full number of one party, for someone allowed to see it; every reveal is audited."""
    if not can_reveal(user):
        raise PermissionDenied(_("Your role may not see full numbers."))
    if party not in REVEALABLE:
        raise BindingRefused(_("There is no such number on a binding."), rule="party")
    value = getattr(binding, party)
    audit.record(
        AuditAction.REVEAL,
        binding,
        user=user,
        request=request,
        details={"party": party, "shown": mask(value)},
    )
    return value


# ---------------------------------------------------------------------------------------------
# Bulk creation from a CSV
# ---------------------------------------------------------------------------------------------


def start_bulk_create(
    application: Application,
    file_name: str,
    text: str,
    *,
    user=None,
    request=None,
    language: str = "",
) -> BulkJob:
    """Store an uploaded CSV and queue the task that creates its bindings.

    The refusals of its rows are written in ``language`` (the uploader's).
    """
    from bindings.forms import bulk_columns
    from bindings.tasks import create_bindings_bulk_task

    rows = bulk_rows(text)
    if not rows:
        raise BindingRefused(_("The file has no rows under its header."), rule="bulk_empty")
    if len(rows) > settings.BINDINGS_BULK_MAX_ROWS:
        raise BindingRefused(
            _("The file has %(n)s rows; at most %(max)s are accepted at a time.")
            % {"n": len(rows), "max": settings.BINDINGS_BULK_MAX_ROWS},
            rule="bulk_too_big",
        )
    columns = {name.strip() for name in rows[0] if name}
    expected = set(bulk_columns(application.mode))
    unknown = sorted(columns - expected)
    if unknown:
        raise BindingRefused(
            _("Unknown columns for %(mode)s: %(columns)s. Allowed: %(allowed)s.")
            % {
                "mode": application.mode,
                "columns": ", ".join(unknown),
                "allowed": ", ".join(bulk_columns(application.mode)),
            },
            rule="bulk_columns",
        )
    with transaction.atomic():
        job = BulkJob.objects.create(
            application=application,
            file_name=file_name[:200],
            source=text,
            total=len(rows),
            language=language[:16],
            created_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.IMPORT,
            job,
            user=user,
            request=request,
            details={"rows": len(rows), "file": file_name[:200]},
        )
        jobs.send_on_commit(
            create_bindings_bulk_task, job.pk, job=BulkJob.objects.filter(pk=job.pk)
        )
    return job


def bulk_rows(text: str) -> list[dict[str, Any]]:
    """The rows of a bulk CSV under its header, or :class:`BindingRefused` naming the limit of
    ``bindings.uploads`` the file passed (rows counting blank ones, columns, cell length)."""
    try:
        for _row in uploads.csv_rows(text, uploads.Limits.bulk_bind()):
            pass
    except uploads.UploadRefused as refusal:
        raise BindingRefused(refusal.message, rule="bulk_limit") from None
    return list(csv.DictReader(io.StringIO(text)))


def run_bulk_create(job_id: int) -> BulkJob | None:
    """Create the bindings of a bulk upload row by row, saving progress as it goes.

    Resumable: a redelivered task skips the rows already done (``bulk_job`` + ``bulk_row`` is
    unique), so no row is ever created twice.
    """
    from bindings.forms import form_for_mode

    claimed = BulkJob.objects.filter(
        pk=job_id, status__in=[BulkJobStatus.QUEUED, BulkJobStatus.RUNNING]
    ).update(status=BulkJobStatus.RUNNING, lease_until=jobs.lease())
    job = BulkJob.objects.select_related("application", "created_by").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            rows = bulk_rows(job.source)  # the worker checks the stored file again
        except BindingRefused as refusal:
            BulkJob.objects.filter(pk=job.pk).update(
                status=BulkJobStatus.FAILED,
                errors=[{"row": 0, "message": refusal.message}],
                finished_at=timezone.now(),
                lease_until=None,
            )
            job.refresh_from_db()
            return job
    form_class = form_for_mode(job.application.mode)
    done_rows = set(job.bindings.values_list("bulk_row", flat=True))
    errors = list(job.errors)
    failed_rows = {e["row"] for e in errors}
    counters = {"processed": job.processed, "created": len(done_rows), "failed": len(failed_rows)}

    def save(final: bool = False) -> None:
        fields: dict[str, Any] = {**counters, "errors": errors[:1000], "lease_until": jobs.lease()}
        if final:
            fields.update(status=BulkJobStatus.DONE, finished_at=timezone.now(), lease_until=None)
        BulkJob.objects.filter(pk=job.pk).update(**fields)

    with translation.override(job.language or settings.LANGUAGE_CODE):
        _bulk_rows(job, rows, form_class, done_rows, failed_rows, errors, counters, save)
    counters["processed"] = counters["created"] + counters["failed"]
    save(final=True)
    job.refresh_from_db()
    return job


def _bulk_rows(job, rows, form_class, done_rows, failed_rows, errors, counters, save) -> None:
    """The rows of a bulk upload not done yet, one binding each; refusals in ``errors``."""
    from bindings.forms import bulk_row_data

    application = job.application
    last_save = timezone.now()
    for row_number, row in enumerate(rows, start=2):
        if row_number in done_rows or row_number in failed_rows:
            continue
        form = form_class(
            data=bulk_row_data(application.mode, row), application=application, city_choices=False
        )
        try:
            if not form.is_valid():
                raise BindingRefused(_form_errors(form), rule="bulk_row")
            create_binding(
                application,
                form.cleaned_data,
                user=job.created_by,
                bulk_job=job,
                bulk_row=row_number,
            )
            counters["created"] += 1
        except BindingRefused as refusal:
            counters["failed"] += 1
            errors.append({"row": row_number, "message": refusal.message})
        except IntegrityError:
            pass  # created by an earlier run of this task
        counters["processed"] = counters["created"] + counters["failed"]
        if (timezone.now() - last_save).total_seconds() >= 0.5:
            save()
            last_save = timezone.now()


def reconcile_progress(run: Reconciliation) -> dict[str, Any]:
    """What a reconciliation's page shows while it runs: numbers checked out of how many."""
    return {
        "id": run.pk,
        "total": run.details.get("total", run.numbers_checked),
        "numbers_checked": run.numbers_checked,
        "platform_bindings": run.platform_bindings,
        "matched": run.matched,
        "lost": run.lost,
        "unknown": run.unknown,
        "failures": run.failures,
        "finished": run.finished_at is not None,
        "status_display": str(_("Finished") if run.finished_at else _("Running")),
    }


def _form_errors(form) -> str:
    parts = []
    for field, messages in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        text = "; ".join(str(m) for m in messages)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


def may_follow_bulk_job(user, job: BulkJob) -> bool:
    """Only the person who uploaded a bulk job, or an administrator (``bindings.view_bulkjob``),
    sees its progress and its refused rows (they carry the rows' real numbers)."""
    return bool(
        user is not None
        and user.is_active
        and (
            (job.created_by_id is not None and job.created_by_id == user.pk)
            or user.has_perm("bindings.view_bulkjob")
        )
    )


def bulk_progress(job: BulkJob) -> dict[str, Any]:
    """What the progress page shows: rows done, and where the created bindings stand."""
    by_status = dict(
        job.bindings.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "total": job.total,
        "processed": job.processed,
        "created": job.created,
        "failed": job.failed,
        "bindings": {status: by_status.get(status, 0) for status in BindingStatus.values},
        "errors": job.errors[-50:],
        "finished": job.status in (BulkJobStatus.DONE, BulkJobStatus.FAILED),
    }


# ---------------------------------------------------------------------------------------------
# Importing X numbers from CSV/XLSX (bindings.number_import, run by a task)
# ---------------------------------------------------------------------------------------------

IMPORT_FORMATS = ("csv", "xlsx")
IMPORT_COLUMNS = ("number", "city_code")
_IMPORT_RUNNING = (NumberImportState.VALIDATING, NumberImportState.IMPORTING)
_IMPORT_FINISHED = (NumberImportState.PREVIEWED, NumberImportState.DONE, NumberImportState.FAILED)


class ImportRefused(Exception):
    """An uploaded file that cannot be imported at all, with the reason in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_import_size(size: int) -> None:
    """Refuse a file over ``BINDINGS_IMPORT_MAX_BYTES``, before it is read."""
    try:
        uploads.check_size(size, uploads.Limits.number_import())
    except uploads.UploadRefused as refusal:
        raise ImportRefused(refusal.message) from None


def read_import_file(file_format: str, file_name: str, content: bytes):
    """The rows of an uploaded file as a ``tablib.Dataset``, or :class:`ImportRefused` saying why
    it cannot be imported: wrong format or extension, unreadable, past a limit of
    ``bindings.uploads`` (size, unpacked size, rows counting empty ones, cell length), no rows, a
    missing column. No row is validated here. Reading stops at the first limit passed, so the
    upload request, which calls it too, takes a bounded time (about 2 s for 50,000 XLSX rows);
    the worker calls it again on the stored file, under the same limits.
    """
    import tablib

    fmt = file_format.lower()
    if fmt not in IMPORT_FORMATS or not file_name.lower().endswith("." + fmt):
        raise ImportRefused(
            _("“%(name)s” is not a file of the chosen format (%(format)s).")
            % {"name": file_name, "format": fmt.upper()}
        )
    rows: list[list[Any]] = []
    try:
        lines = uploads.file_rows(fmt, content, uploads.Limits.number_import())
        headers = [str(h).strip() if h is not None else "" for h in next(lines, [])]
        width = len(headers)
        for line in lines:
            if any(v not in (None, "") for v in line):
                rows.append((list(line) + [None] * width)[:width])
    except uploads.UploadRefused as refusal:
        raise ImportRefused(refusal.message) from None
    except Exception as error:
        raise ImportRefused(
            _("The file could not be read as %(format)s: %(error)s")
            % {"format": fmt.upper(), "error": error}
        ) from error
    missing = [c for c in IMPORT_COLUMNS if c not in headers]
    if missing:
        raise ImportRefused(
            _("The file needs the columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    if not rows:
        raise ImportRefused(_("The file has no rows under its header."))
    return tablib.Dataset(*rows, headers=headers)


def start_number_import(
    application: Application,
    file_name: str,
    file_format: str,
    content: bytes,
    *,
    user=None,
    language: str = "",
) -> NumberImport:
    """Keep an uploaded file of X numbers and queue its validation; refuses a bad file at once."""
    from bindings.tasks import validate_number_import_task

    dataset = read_import_file(file_format, file_name, content)
    with transaction.atomic():
        job = NumberImport.objects.create(
            application=application,
            file_name=file_name[:200],
            file_format=file_format.lower(),
            source=content,
            language=language[:16],
            total=len(dataset),
            created_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
        jobs.send_on_commit(
            validate_number_import_task, job.pk, job=NumberImport.objects.filter(pk=job.pk)
        )
    return job


def _progress_key(job_id: int, state: str) -> str:
    return f"bindings:number-import:{job_id}:{state}"


def _publish_progress(job_id: int, state: str, rows: int) -> None:
    """Rows read so far, for the progress page. The import runs in one transaction, so the
    figure goes through the cache: a row of the job updated inside it would not be seen."""
    try:
        cache.set(_progress_key(job_id, state), rows, timeout=6 * 3600)
    except Exception:  # a progress figure never stops an import
        logger.warning("could not publish the progress of import %s", job_id, exc_info=True)


def _read_progress(job_id: int, state: str) -> int:
    try:
        return int(cache.get(_progress_key(job_id, state)) or 0)
    except Exception:
        return 0


def _refused_rows(dataset, refused: list[Refused]) -> list[dict[str, Any]]:
    """Each refused row (the first ``ERRORS_KEPT``): its number in the file, the values as typed,
    the reasons."""
    headers = dataset.headers
    rows = []
    for row in refused[: NumberImport.ERRORS_KEPT]:
        typed = dict(zip(headers, dataset[row.row - 1], strict=False))
        rows.append(
            {
                "row": row.row,
                "number": "" if typed.get("number") is None else str(typed["number"]),
                "city_code": "" if typed.get("city_code") is None else str(typed["city_code"]),
                "application": ""
                if typed.get("application") is None
                else str(typed["application"]),
                "message": row.message,
            }
        )
    return rows


def _conflict(error: IntegrityError) -> str:
    """A number of the file was added to a pool by someone else after the preview."""
    found = re.search(r"\(number\)=\(([^)]+)\)", str(error))
    return _(
        "Nothing was imported: %(number)s was added to a pool by someone else after the "
        "preview. Upload the file again to see which rows are left."
    ) % {"number": found.group(1) if found else _("a number of this file")}


def _importer(job: NumberImport) -> NumberImporter:
    return NumberImporter(
        job.application,
        progress=lambda rows: _publish_progress(job.pk, job.state, rows),
    )


def _fail_import(job_id: int, message: str) -> None:
    NumberImport.objects.filter(pk=job_id).update(
        state=NumberImportState.FAILED, error=message, finished_at=timezone.now(), lease_until=None
    )


def validate_number_import(job_id: int) -> NumberImport | None:
    """The dry run: every row checked, nothing written; the job then waits for a confirmation.

    Safe to run twice: a redelivered validation runs again from the start; once the job is
    previewed (or further) it is left alone.
    """
    claimed = NumberImport.objects.filter(
        pk=job_id, state__in=[NumberImportState.QUEUED, NumberImportState.VALIDATING]
    ).update(state=NumberImportState.VALIDATING, processed=0, lease_until=jobs.lease())
    job = NumberImport.objects.select_related("application").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            dataset = read_import_file(job.file_format, job.file_name, bytes(job.source))
        except ImportRefused as refusal:
            _fail_import(job.pk, refusal.message)
            return job
        _publish_progress(job.pk, job.state, 0)
        checked = _importer(job).check(dataset.headers, dataset)
        NumberImport.objects.filter(pk=job.pk, state=NumberImportState.VALIDATING).update(
            state=NumberImportState.PREVIEWED,
            lease_until=None,
            total=len(dataset),
            processed=len(dataset),
            new_count=len(checked.new),
            refused_count=len(checked.refused),
            errors=_refused_rows(dataset, checked.refused),
        )
    job.refresh_from_db()
    return job


def confirm_number_import(job: NumberImport, *, user, request=None) -> bool:
    """Queue the import of a previewed job, once: False if it was already confirmed, is not
    previewed, or has nothing to import (a double click confirms once)."""
    from bindings.tasks import import_numbers_task

    if not user.has_perm("bindings.add_xnumber"):
        raise PermissionDenied
    with transaction.atomic():
        claimed = NumberImport.objects.filter(
            pk=job.pk, state=NumberImportState.PREVIEWED, new_count__gt=0
        ).update(
            state=NumberImportState.IMPORTING,
            processed=0,
            confirmed_by=user,
            confirmed_at=timezone.now(),
            lease_until=jobs.lease(),
        )
        if not claimed:
            return False
        audit.record(
            AuditAction.IMPORT,
            job.application,
            user=user,
            request=request,
            details={
                "import": job.pk,
                "file": job.file_name,
                "rows": job.total,
                "new_numbers": job.new_count,
            },
        )
        jobs.send_on_commit(import_numbers_task, job.pk, job=NumberImport.objects.filter(pk=job.pk))
    return True


def run_number_import(job_id: int) -> NumberImport | None:
    """Import a confirmed job's new numbers, every row checked again, in one transaction.

    Exactly once: the job's row is locked and the import commits together with the job's
    ``done``; a task delivered again finds it done and leaves it, and a worker that died midway
    left nothing behind. A number added elsewhere since the preview is refused on its row; one
    added at the very same moment trips the unique constraint and the job fails, importing
    nothing, with a message naming the number.
    """
    # The import is one transaction, whose progress nobody else sees: its lease covers the longest
    # a task may run (a worker that died leaves nothing imported, and the sweeper runs it again).
    NumberImport.objects.filter(pk=job_id, state=NumberImportState.IMPORTING).update(
        lease_until=jobs.lease(settings.CELERY_TASK_TIME_LIMIT + settings.JOBS_LEASE_SECONDS)
    )
    with transaction.atomic():
        job = (
            NumberImport.objects.select_for_update(of=("self",))
            .select_related("application")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.state != NumberImportState.IMPORTING:
            return job
        with translation.override(job.language or settings.LANGUAGE_CODE):
            job.finished_at = timezone.now()
            job.lease_until = None
            try:
                dataset = read_import_file(job.file_format, job.file_name, bytes(job.source))
            except ImportRefused as refusal:
                job.state, job.error = NumberImportState.FAILED, refusal.message
                job.save(update_fields=["state", "error", "finished_at", "lease_until"])
                return job
            _publish_progress(job.pk, job.state, 0)
            importer = _importer(job)
            checked = importer.check(dataset.headers, dataset)
            job.processed = len(dataset)
            try:
                with transaction.atomic():
                    imported = importer.write(checked)
            except IntegrityError as error:
                job.state, job.error = NumberImportState.FAILED, _conflict(error)
            else:
                job.state = NumberImportState.DONE
                # The numbers are in the pool now; the uploaded file (up to 10 MB, real data of
                # the company's) is not kept past its use. Name, counts and refusals stay.
                job.source = b""
                job.imported_count = imported
                job.refused_count = len(checked.refused)
                job.errors = _refused_rows(dataset, checked.refused)
            job.save(
                update_fields=[
                    "state",
                    "error",
                    "processed",
                    "imported_count",
                    "refused_count",
                    "errors",
                    "finished_at",
                    "source",
                    "lease_until",
                ]
            )
    return job


def abandon_number_import(job_id: int, error: BaseException) -> None:
    """A pass that stopped on an unexpected error: the job fails, saying so (nothing was imported:
    the import's transaction was rolled back)."""
    job = NumberImport.objects.filter(pk=job_id).only("language").first()
    if job is None:
        return
    with translation.override(job.language or settings.LANGUAGE_CODE):
        message = _("Nothing was imported: %(error)s") % {"error": error or type(error).__name__}
    NumberImport.objects.filter(pk=job_id, state__in=_IMPORT_RUNNING).update(
        state=NumberImportState.FAILED, error=message, finished_at=timezone.now(), lease_until=None
    )


def number_import_progress(job: NumberImport, *, with_rows: bool = True) -> dict[str, Any]:
    """What the import's page shows: the phase, rows read, the counts and, once a pass is over,
    the refused rows."""
    running = job.state in _IMPORT_RUNNING
    finished = job.state in _IMPORT_FINISHED
    return {
        "id": job.pk,
        "state": job.state,
        "state_display": job.get_state_display(),
        "total": job.total,
        "processed": _read_progress(job.pk, job.state) if running else job.processed,
        "new": job.new_count,
        "refused": job.refused_count,
        "imported": job.imported_count,
        "error": job.error,
        "finished": finished,
        "can_confirm": job.state == NumberImportState.PREVIEWED and job.new_count > 0,
        "errors": job.errors if finished and with_rows else [],
    }
