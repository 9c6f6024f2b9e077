"""The webhook event of a completed call, written in the CDR ingest's transaction.

The receiver of :data:`billing.signals.cdrs_ingested` (sent by ``ingest_cdrs`` inside its
transaction) announces each new CDR: billed (talk seconds, billable minutes) and explained (the
codes that say why the call ended as it did, in English and Chinese).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from billing import explain
from billing.choices import CallOutcome
from console import webhooks

EVENTS = {"call.completed": gettext_noop("A call's CDR arrived: billed and explained")}


def reasons(record) -> dict[str, list[dict[str, Any]]]:
    """Why a call ended as it did, in English and Chinese (the API answers the same)."""
    explained = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            explained[language] = [
                {
                    "code": r.code,
                    "label": str(r.label),
                    "category": r.category,
                    "meaning": str(r.meaning),
                }
                for r in explain.call_reasons(
                    answered=record.outcome == CallOutcome.ANSWERED,
                    no_binding=record.no_binding,
                    release=record.ul_fail_reason,
                    q850_forward=record.fwd_unasw_rsn,
                    q850_call_out=record.call_out_unasw_rsn,
                )
            ]
    return explained


def call_data(record) -> dict[str, Any]:
    return {
        "id": record.pk,
        "binding": record.binding_id,
        "subscription_id": record.subscription_id,
        "session_id": record.session_id,
        "caller_num": record.caller_num,
        "callee_num": record.callee_num,
        "fwd_dst_num": record.fwd_dst_num,
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "talk_seconds": record.talk_seconds,
        "billable_minutes": record.billable_minutes,
        "outcome": record.outcome,
        "recorded": bool(record.record_flag),
        "user_data": record.user_data,
        "reasons": reasons(record),
    }


def announce_calls(sender, *, application, call_records, **kwargs) -> None:
    """``cdrs_ingested``: one ``call.completed`` per new CDR, in the ingest's transaction."""
    # The flag of the application in hand, not a query: the ingest is one statement per batch.
    if not call_records or not application.webhooks_on:
        return
    webhooks.emit_many(
        (application.pk, "call.completed", call_data(record)) for record in call_records
    )
