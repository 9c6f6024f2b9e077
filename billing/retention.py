"""Billing's personal data for ``console.retention``: call events (deleted), CDRs and SMS records
(kept with their figures; numbers pseudonymised, SMS texts emptied). Registered from
``BillingConfig.ready()``."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models import CallEvent, CallRecord, SmsRecord
from console import retention
from console.retention import Part, holding_any, not_pseudonymised, pseudonymise_rows

_SMS_NUMBERS = ("calling", "called", "forwarded_to")


def _delete_events(ids: list[int]) -> int:
    return CallEvent.objects.filter(pk__in=ids).delete()[0]


def register() -> None:
    """Called from ``BillingConfig.ready()``."""
    retention.register(
        Part(
            "call_data",
            "call_events",
            _("call events"),
            CallEvent,
            due=lambda app, cutoff: CallEvent.objects.filter(application=app, timestamp__lt=cutoff),
            holding=lambda forms: CallEvent.objects.filter(
                holding_any(CallEvent.REAL_NUMBER_FIELDS, forms)
            ),
            erase=_delete_events,
        ),
        Part(
            "call_data",
            "call_records",
            _("CDRs"),
            CallRecord,
            due=lambda app, cutoff: CallRecord.objects.filter(
                not_pseudonymised(*CallRecord.REAL_NUMBER_FIELDS),
                application=app,
                started_at__lt=cutoff,
            ),
            holding=lambda forms: CallRecord.objects.filter(
                holding_any(CallRecord.REAL_NUMBER_FIELDS, forms)
            ),
            erase=lambda ids: pseudonymise_rows(CallRecord, ids, CallRecord.REAL_NUMBER_FIELDS),
        ),
        Part(
            "call_data",
            "sms_records",
            _("SMS records"),
            SmsRecord,
            due=lambda app, cutoff: SmsRecord.objects.filter(
                not_pseudonymised(*_SMS_NUMBERS) | ~Q(content=""),
                application=app,
                time_stamp__lt=cutoff,
            ),
            holding=lambda forms: SmsRecord.objects.filter(holding_any(_SMS_NUMBERS, forms)),
            erase=lambda ids: pseudonymise_rows(SmsRecord, ids, _SMS_NUMBERS, blank=("content",)),
        ),
    )
