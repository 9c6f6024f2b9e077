"""factory-boy factories and push helpers for billing's tests."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import factory
from django.utils import timezone

from billing.models import CallRecord, Tariff
from bindings.models import Binding, XNumber
from console.models import Application
from privatenumber.auth import build_headers

FIXTURES = Path(__file__).resolve().parents[2] / "privatenumber" / "tests" / "fixtures" / "pushes"
FIXTURE_APP_KEY = "a1d1f50cad21415fbdd13d8f53d36d60"  # the appKey inside the fixtures
JSON_TYPE = "application/json;charset=UTF-8"


def secret_for(app_key: str) -> str:
    return f"secret-of-{app_key}"


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application
        django_get_or_create = ("app_key",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Application {n}")
    mode = "AXB"
    app_key = factory.Sequence(lambda n: f"appkey{n:04d}")
    base_url = "https://rtcpns.cn-north-1.myhuaweicloud.com"

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        obj.set_secret(extracted or secret_for(obj.app_key))
        if create:
            obj.save(update_fields=["app_secret_encrypted"])


class XNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = XNumber

    number = factory.Sequence(lambda n: f"+86170{n:08d}")
    application = factory.SubFactory(ApplicationFactory)
    city_code = "0755"


class BindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Binding

    application = factory.SubFactory(ApplicationFactory)
    mode = factory.LazyAttribute(lambda o: o.application.mode)
    status = "active"
    subscription_id = factory.Sequence(lambda n: f"sub-{n:06d}")
    a_number = factory.Sequence(lambda n: f"+86138{n:08d}")
    b_number = factory.Sequence(lambda n: f"+86139{n:08d}")
    x_number = factory.Sequence(lambda n: f"+86170{n:08d}")


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
    started = started or utc(2026, 3, 10, 2, 0, 0)
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


def load_fixture(name: str, app_key: str | None = None) -> dict[str, Any]:
    """A documented push, its appKeys replaced by ``app_key``."""
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    if app_key:
        data = json.loads(json.dumps(data).replace(FIXTURE_APP_KEY, app_key))
    return copy.deepcopy(data)


def signed(
    application: Application,
    scheme: str = "AKSK",
    *,
    secret: str | None = None,
    created: datetime | None = None,
) -> dict[str, str]:
    return build_headers(
        application.app_key,
        secret or secret_for(application.app_key),
        scheme,
        created=created or timezone.now(),
    )


def post_push(client, endpoint: str, body: bytes | dict, application: Application, **signing):
    """POST a push to ``/hooks/<endpoint>`` signed like the platform does."""
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False).encode()
    return client.post(
        f"/hooks/{endpoint}",
        data=body,
        content_type=JSON_TYPE,
        headers=signed(application, **signing),
    )


def make_record(application: Application, **fields: Any) -> CallRecord:
    """A stored CDR for page tests, through the real ingest path."""
    from billing import services
    from privatenumber.schemas import FeeInfo

    body = fee(application, **fields)
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
    return CallRecord.objects.get(application=application, session_id=body["sessionId"])
