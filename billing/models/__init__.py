"""Call events, CDRs (话单), SMS records, tariffs, monthly statements and the dashboard's rollup.

All times are stored in UTC (the platform's strings are UTC, spec §1.3). Numbers are stored as the
platform pushed them (global format, ``+86…``); pages mask real numbers unless the viewer may see
them. Money is ``Decimal`` with two places (fen), never float.

One module per part, every model imported here (Django finds them in ``billing.models``).
"""

from __future__ import annotations

from billing.models.base import MONEY, PRICE, delivery_field
from billing.models.calls import (
    CallEvent,
    CallRecord,
    SmsRecord,
)
from billing.models.health import (
    NumberComplaint,
    NumberHealth,
)
from billing.models.money import (
    CallStat,
    CallStatCursor,
    Package,
    PackageDraw,
    SettledHour,
    SettlementProgress,
    Statement,
    Tariff,
)
from billing.models.reconciliation import (
    BillDifference,
    BillReconciliation,
)

__all__ = [
    "MONEY",
    "PRICE",
    "BillDifference",
    "BillReconciliation",
    "CallEvent",
    "CallRecord",
    "CallStat",
    "CallStatCursor",
    "NumberComplaint",
    "NumberHealth",
    "Package",
    "PackageDraw",
    "SettledHour",
    "SettlementProgress",
    "SmsRecord",
    "Statement",
    "Tariff",
    "delivery_field",
]
