"""factory-boy factories of billing's models, and CDRs as the platform pushes them.

Applications and signed pushes: ``console.testing.factories``; X numbers and bindings:
``bindings.tests.factories``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import factory

from billing.models import CallRecord, Tariff
from console.models import Application
from console.testing.factories import ApplicationFactory


class TariffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tariff

    application = factory.SubFactory(ApplicationFactory)
    valid_from = datetime(2020, 1, 1).date()
    price_to_a = "0.10"
    price_from_a = "0.12"
    price_abnormal = "0.00"
    monthly_rent_per_number = "15.00"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def platform_time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


_counter = iter(range(10**9))


def fee(
    application: Application,
    *,
    answered: datetime | None = None,
    talk: int = 61,
    started: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One CDR as the platform pushes it (wire names); answered unless ``answered`` is False."""
    n = next(_counter)
    if started is None:  # a call starts just before it is answered
        answer_given = isinstance(answered, datetime)
        started = answered - timedelta(seconds=5) if answer_given else utc(2026, 3, 10, 2, 0, 0)
    answer_at = answered if answered is not None else started + timedelta(seconds=5)
    cdr = {
        "direction": 1,
        "spId": "sp_test",
        "appKey": application.app_key,
        "icid": f"icid-{n:08d}.3757285803.338666679.5",
        "bindNum": "+8617012340022",
        "sessionId": f"1200_366_0_{n:012d}@callenabler246.huaweicaas.com",
        "subscriptionId": "",
        "callerNum": "+8613900007021",
        "calleeNum": "+8617012340022",
        "fwdDisplayNum": "+8617012340022",
        "fwdDstNum": "+8613800000021",
        "callInTime": platform_time(started),
        "fwdStartTime": platform_time(started + timedelta(seconds=1)),
        "fwdAlertingTime": platform_time(started + timedelta(seconds=2)),
        "fwdAnswerTime": platform_time(answer_at),
        "callEndTime": platform_time(answer_at + timedelta(seconds=talk)),
        "fwdUnaswRsn": 0,
        "failTime": "",
        "ulFailReason": 0,
        "sipStatusCode": 0,
        "callOutUnaswRsn": 0,
        "recordFlag": 0,
        "serviceType": "004",
        "hostName": "callenabler246.huaweicaas.com",
    }
    cdr.update(overrides)
    return cdr


def unanswered(fee_body: dict[str, Any], release_point: int = 8102, q850: int = 17) -> dict:
    failed = dict(fee_body)
    failed.update(
        fwdAnswerTime="",
        failTime=failed["callEndTime"],
        ulFailReason=release_point,
        fwdUnaswRsn=q850,
        sipStatusCode=486,
    )
    return failed


def fee_push(*cdrs: dict[str, Any]) -> bytes:
    return json.dumps({"eventType": "fee", "feeLst": list(cdrs)}).encode()


def make_record(application: Application, **fields: Any) -> CallRecord:
    """A stored CDR for page tests, through the real ingest path."""
    from billing import services
    from privatenumber.schemas import FeeInfo

    body = fee(application, **fields)
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
    return CallRecord.objects.get(application=application, session_id=body["sessionId"])
