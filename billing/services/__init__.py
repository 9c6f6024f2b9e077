"""The verbs of billing: take in pushed CDRs, call events and SMS notices; decide Block answers;
compute and close statements; keep the dashboard's hourly totals.

Pushed messages arrive already parsed (``privatenumber.schemas``) from the receiver
(``console.inbox``), which runs each push in one transaction with its ``Delivery`` row; nothing
here opens a transaction of its own for a push or makes a network call.

One module per part, every verb re-exported here (``from billing import services``): ``cdrs``,
``call_events``, ``sms``, ``held``, ``statements``, ``hourly``.
"""

from __future__ import annotations

from billing.services.call_events import (
    apply_call_event_push,
    decide_callin,
    other_party,
    record_call_event,
)
from billing.services.cdrs import (  # noqa: F401 - the private ones for tests and bench/
    _CDR_COLUMNS,
    _KEY,
    CDR_FIELDS,
    _insert_portable,
    _insert_postgresql,
    _row,
    _saved_records,
    apply_fee_push,
    billable_minutes,
    cdr_key,
    encode_rows,
    ingest_cdrs,
    outcome_of,
)
from billing.services.held import (
    CORROBORATION_TOLERANCE,
    corroborate_call_event_push,
    corroborate_fee_push,
    corroborate_sms_push,
)
from billing.services.hourly import (
    refresh_call_stats,
)
from billing.services.sms import (
    SmsChoice,
    apply_sms_push,
    decide_sms,
)
from billing.services.statements import (
    CENT,
    StatementFigures,
    close_statements,
    compute_statement,
    count_x_numbers,
    local_zone,
    month_bounds,
    month_start,
    next_month,
    packages_drawn,
    price_of,
    recompute_differences,
    refresh_statement,
    reprice_open_statements,
    tariff_for,
    waits_for_tariff,
)

__all__ = [
    "CDR_FIELDS",
    "CENT",
    "CORROBORATION_TOLERANCE",
    "SmsChoice",
    "StatementFigures",
    "apply_call_event_push",
    "apply_fee_push",
    "apply_sms_push",
    "billable_minutes",
    "cdr_key",
    "close_statements",
    "compute_statement",
    "corroborate_call_event_push",
    "corroborate_fee_push",
    "corroborate_sms_push",
    "count_x_numbers",
    "decide_callin",
    "decide_sms",
    "ingest_cdrs",
    "local_zone",
    "month_bounds",
    "month_start",
    "next_month",
    "other_party",
    "outcome_of",
    "packages_drawn",
    "price_of",
    "recompute_differences",
    "record_call_event",
    "refresh_call_stats",
    "refresh_statement",
    "reprice_open_statements",
    "tariff_for",
    "waits_for_tariff",
]
