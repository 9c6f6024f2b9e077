"""Create a binding: every rule checked, its numbers chosen from the pool, its bind queued.

What a mode allows is read from the mode table (:mod:`bindings.modes`): its fields, how many X one
A may hold, whether X is exclusive or shared, the parties an X must not carry yet, an extension,
a Y. The numbers are taken under row locks (:mod:`bindings.pool`) in the transaction that saves
the binding ``pending``; its bind is queued after commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bindings import events, modes, platform, pool
from bindings.choices import AreaMatchMode, BindingStatus
from bindings.models import Binding, BulkJob
from bindings.services import safeguards, work
from bindings.services.base import BindingRefused
from console import audit, jobs, sql
from console.choices import AuditAction
from console.models import Application
from console.numbers import InvalidNumber, mask, normalize

# A valid global-format number that stands in for X while a request is checked before X is chosen.
_PLACEHOLDER_X = "+8617000000000"
_PLACEHOLDER_Y = "+8617000000001"
_NUMBER_FIELDS = ("a_number", "b_number", "callback_num")


def _clean_values(mode: modes.BindingMode, data: Mapping[str, Any]) -> dict[str, Any]:
    allowed = mode.binding_fields
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
    if mode.needs_b:
        if "b_number" not in values:
            raise BindingRefused(
                _("Enter the B number (%(mode)s binds two parties).") % {"mode": mode.name},
                rule="required",
                field="b_number",
            )
        if values["a_number"] == values["b_number"]:
            raise BindingRefused(
                _("A and B must be two different numbers."), rule="same_number", field="b_number"
            )
    return values


def _check_request(mode: modes.BindingMode, binding: Binding) -> None:
    """Build the bind request(s) now, so a field the platform would refuse is refused here."""
    real_x, real_y = binding.x_number, binding.y_number
    binding.x_number = real_x or _PLACEHOLDER_X
    try:
        platform.bind_request(binding)
        if mode.two_steps:
            binding.y_number = real_y or _PLACEHOLDER_Y
            binding.subscription_id = binding.subscription_id or "check"
            platform.second_request(binding)
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
    application: Application,
    mode: modes.BindingMode,
    role: pool.Role,
    city: str,
    loose: bool,
    now,
    parties: pool.Parties | None,
) -> BindingRefused:
    """The refusal when no number could be taken, naming the rule that left none."""
    where = _where(city, loose)
    free_without_avoid = parties is not None and any(
        pool.candidates(application, role, tier, now=now).exists()
        for tier in pool.city_tiers(city, loose)
    )
    if free_without_avoid and mode.avoid is not None:
        return BindingRefused(
            mode.avoid.refusal % {"where": where}, rule=mode.avoid.rule, field="area_code"
        )
    rule = mode.x_rule(application)
    if role.name == "y":
        rule = _("a Y carries at most %(n)s relations and is never an X") % {
            "n": mode.relations_per_y
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
    if not modes.has_bindings(application.mode):
        raise BindingRefused(
            _("X-mode applications have no bindings: the console decides each call."),
            rule="mode_x",
        )
    if not application.is_active:
        raise BindingRefused(
            _("Application %(name)s is not active.") % {"name": application.name},
            rule="application_inactive",
        )
    mode = modes.of(application.mode)
    values = _clean_values(mode, data)
    # Blacklist, A-number registration and tone files: refused here, before any number is taken.
    checked = safeguards.check(application, mode, values)
    values.setdefault("area_match_mode", AreaMatchMode.STRICT)
    binding = Binding(
        application=application,
        mode=mode.name,
        status=BindingStatus.PENDING,
        created_by=user if getattr(user, "pk", None) else None,
        bulk_job=bulk_job,
        bulk_row=bulk_row,
        **values,
    )
    _check_request(mode, binding)
    city = binding.area_code
    loose = binding.area_match_mode == AreaMatchMode.LOOSE
    a, b = binding.a_number, binding.b_number
    now = timezone.now()
    with transaction.atomic():
        if mode.x_per_a is not None:
            # One A holds at most so many X (spec §4): count under a lock on A.
            pool.lock_party(application.pk, a)
            held = _live_of_a(application, a)
            if held >= mode.x_per_a:
                raise BindingRefused(
                    _(
                        "%(mode)s rule: one A number may hold at most %(max)s X numbers; "
                        "%(a)s already holds %(held)s."
                    )
                    % {"mode": mode.name, "max": mode.x_per_a, "a": mask(a), "held": held},
                    rule="a_holds_5",
                    field="a_number",
                )
        role = pool.role_for(mode.name, application)
        parties = pool.parties_for(mode.name, a, b)
        x = pool.take(application, role, city_code=city, loose=loose, now=now, parties=parties)
        if x is None:
            raise _no_number(application, mode, role, city, loose, now, parties)
        binding.x, binding.x_number = x, x.number
        if mode.extensions:
            binding.extension = pool.free_extension(x, application)
            if not binding.extension:
                raise _no_number(application, mode, role, city, loose, now, None)
        if mode.has_y:
            y_role = pool.role_for(mode.name, application, as_y=True)
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
        sql.insert(binding)  # binding.save(), as one prepared statement
        details = {"mode": mode.name, "x": binding.x_number, "order_ref": binding.order_ref}
        if checked.warnings:
            details["warnings"] = checked.warnings
        audit.record(AuditAction.CREATE, binding, user=user, request=request, details=details)
        events.announce(binding, "binding.created")
        # Queued after commit; a broker that cannot be reached leaves the binding to the sweeper
        # (``binding.sending.queued`` is False then: the page says so instead of a 500).
        binding.sending = work.BIND.send_on_commit(
            binding.pk, job=partial(Binding.objects.filter, pk=binding.pk)
        )
    binding.warnings = checked.warnings  # shown to whoever created it (the registration policy)
    return binding
