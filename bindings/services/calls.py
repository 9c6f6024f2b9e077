"""Calls through a binding: the temporary callee (AX) and stopping a call in progress (AXYB).

Both are sent at once (a person is waiting) and audited; which modes have them is the platform's
mode table (the mode has the interface, or it does not).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from bindings import modes
from bindings.choices import BindingStatus
from bindings.models import Binding
from bindings.services.base import BindingRefused, not_active
from bindings.services.gateway import client_for, result_fields
from console import audit
from console.choices import AuditAction
from console.models import Application
from console.numbers import InvalidNumber, mask, normalize
from privatenumber.errors import PlatformError

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
    if not modes.of(binding.mode).temporary_callee:
        raise BindingRefused(
            _("Only AX bindings have a temporary callee."), rule="not_ax", field=None
        )
    if binding.status != BindingStatus.ACTIVE:
        raise not_active(binding)
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
    interface = modes.of(binding.mode).interface("set_temporary_callee")
    try:
        with client_for(binding.application, binding) as client:
            client.call(
                interface,
                orig_num=binding.a_number,
                private_num=binding.x_number,
                callee_num=callee,
                duration=duration,
            )
    except PlatformError as error:
        Binding.objects.filter(pk=binding.pk).update(
            updated_at=timezone.now(), **result_fields(error)
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
    """Hang up the call with this ``sessionId`` (from its call events), in a mode that can
    (AXYB); audited.

    Raises :class:`PlatformError` when the platform refuses (e.g. the call already ended).
    """
    if application.mode not in modes.STOPS_CALLS:
        raise BindingRefused(
            _("Stopping a call is an AXYB interface; %(name)s is %(mode)s.")
            % {"name": application.name, "mode": application.mode},
            rule="not_axyb",
        )
    result = "0"
    try:
        with client_for(application) as client:
            client.call(modes.of(application.mode).interface("stop_call"), session_id=session_id)
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
