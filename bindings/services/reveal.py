"""Revealing a real number of a binding to someone whose role allows it, one audited POST each."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from bindings.models import Binding
from bindings.services.base import BindingRefused
from console import audit
from console.choices import AuditAction
from console.numbers import mask
from console.privacy import may_see_real_numbers

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
