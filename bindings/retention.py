"""Bindings' personal data for ``console.retention``: the real numbers of bindings no longer live
(pseudonymised), and the rows of bulk uploads (emptied). A live binding holding a number blocks
its erasure: it is ended first. Registered from ``BindingsConfig.ready()``."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bindings.choices import LIVE_BINDING_STATUSES, BindingStatus
from bindings.models import Binding, BulkJob
from console import retention
from console.retention import Part, holding_any, not_pseudonymised, pseudonymise_rows

_NUMBERS = Binding.REAL_NUMBER_FIELDS


def _ended_due(application, cutoff):
    over = Q(status__in=[BindingStatus.ENDED, BindingStatus.EXPIRED], ended_at__lt=cutoff)
    over |= Q(status=BindingStatus.FAILED, created_at__lt=cutoff)
    return Binding.objects.filter(over, not_pseudonymised(*_NUMBERS), application=application)


def _bulk_holding(forms: list[str]):
    condition = Q()
    for form in forms:
        condition |= Q(source__contains=form)
    return BulkJob.objects.filter(condition)


def _empty_bulk_jobs(ids: list[int]) -> int:
    return BulkJob.objects.filter(pk__in=ids).update(source="", errors=[])


def register() -> None:
    """Called from ``BindingsConfig.ready()``."""
    retention.register(
        Part(
            "ended_bindings",
            "ended_bindings",
            _("bindings no longer live"),
            Binding,
            due=_ended_due,
            holding=lambda forms: Binding.objects.filter(holding_any(_NUMBERS, forms)).exclude(
                status__in=LIVE_BINDING_STATUSES
            ),
            erase=lambda ids: pseudonymise_rows(Binding, ids, _NUMBERS),
        ),
        Part(
            "ended_bindings",
            "bulk_uploads",
            _("rows of finished bulk uploads"),
            BulkJob,
            due=lambda application, cutoff: BulkJob.objects.filter(
                application=application, finished_at__lt=cutoff
            ).exclude(source=""),
            holding=_bulk_holding,
            erase=_empty_bulk_jobs,
        ),
        Part(
            "ended_bindings",
            "live_bindings",
            _("live bindings (end them first)"),
            Binding,
            due=lambda application, cutoff: Binding.objects.none(),
            holding=lambda forms: Binding.objects.filter(
                holding_any(_NUMBERS, forms), status__in=LIVE_BINDING_STATUSES
            ),
            erase=lambda ids: 0,
            blocks_erasure=True,
        ),
    )
