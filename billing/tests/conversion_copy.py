"""Run inside a copy of an installation by ``test_partitions`` (``manage.py shell -c``): fill the
history tables before the conversion, and print a digest of them to compare after it."""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from billing import services
from billing.models import CallEvent, SmsRecord
from billing.tests.factories import fee, utc
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

TABLES = ("billing_callrecord", "billing_callevent", "billing_smsrecord")


def starts() -> list:
    """Months old and new, and moments either side of a local month's first midnight."""
    now = timezone.now().replace(microsecond=0)
    return [
        utc(2019, 5, 3, 4, 0, 0),
        utc(2026, 8, 31, 15, 0, 0),  # 23:00 on 31 August in Shanghai
        utc(2026, 8, 31, 16, 0, 0),  # midnight, 1 September in Shanghai
        now - timedelta(days=40),
        now - timedelta(hours=3),
    ]


def seed(rows: int = 1500) -> None:
    application = ApplicationFactory(name="Copy of an installation")
    moments = starts()
    fees = [
        FeeInfo.model_validate(
            fee(application, started=moments[i % len(moments)] + timedelta(seconds=i))
        )
        for i in range(rows)
    ]
    for first in range(0, rows, 50):
        with transaction.atomic():
            services.ingest_cdrs(application, fees[first : first + 50])
    CallEvent.objects.bulk_create(
        CallEvent(
            application=application,
            session_id=f"session-{i}",
            event_type="callin",
            timestamp=moments[i % len(moments)] + timedelta(seconds=i),
            caller="+8613900000001",
        )
        for i in range(rows)
    )
    SmsRecord.objects.bulk_create(
        SmsRecord(
            application=application,
            sms_identifier=f"sms-{i}",
            notification_mode="Notify",
            calling="+8613900000001",
            virtual_number="+8617012340022",
            event="sms",
            time_stamp=moments[i % len(moments)] + timedelta(seconds=i),
        )
        for i in range(rows)
    )
    # Ids given and then deleted must never be given again.
    newest = CallEvent.objects.order_by("-id")[:10]
    CallEvent.objects.filter(pk__in=list(newest.values_list("pk", flat=True))).delete()


def digest() -> None:
    """Per table: rows, highest id, an MD5 of every row in id order, partitioned or not."""
    found = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"SELECT count(*), max(id), md5(string_agg(t::text, '|' ORDER BY id)), "  # noqa: S608
                f"(SELECT relkind FROM pg_class WHERE oid = '{table}'::regclass) FROM {table} t"
            )
            count, highest, md5, kind = cursor.fetchone()
            found[table] = {"rows": count, "max_id": highest, "md5": md5, "kind": kind}
    print(json.dumps(found))  # noqa: T201 - read by the test from standard output
