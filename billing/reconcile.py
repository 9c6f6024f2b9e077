"""Bill reconciliation: Huawei's bill export for a month, checked against the console's figures.

**The file.** The fee centre (费用中心 > 账单管理 > 流水与明细账单 > 明细账单, 统计维度
“使用量类型”, 统计周期 “明细”, 导出) exports the usage details of each pay-per-use resource,
one line per charging period: for PrivateNumber, per hour (结算时以小时为周期扣费). The same
columns are those of the subscribed file ``%账号名%_PriceFactorBillDetail_YYYYMMDD``. What
Huawei documents, and what this parser reads (``COLUMNS``; Chinese names as exported, English
names of the international console as aliases):

* 账期 / Billing Cycle: ``2020-08``. Checked against the month chosen.
* 消费时间 / Expenditure Time: ``2020-08-23 22:00:00 GMT+08:00-2020-08-23 23:00:00 GMT+08:00``
  for pay-per-use: the hour charged. 使用开始时间 / Usage Start Time is read when it is absent.
* 产品类型 / Service Type: the cloud service; lines of other services are left out. The value on
  PrivateNumber's lines (隐私保护通话) is UNCONFIRMED.
* 资源ID / Resource ID, 资源名称 / Resource Name: the resource charged. Which value PrivateNumber
  puts there (the application's app_key or name, the account?) is UNCONFIRMED; a line whose
  resource is an application's app_key or name is that application's, any other is the account's.
* 使用量类型 / Usage Type, 使用量 / Usage, 使用量单位 / Usage Unit: the usage charged. Call time is
  told from SMS and number rent by its unit (分钟 / minute, or 秒 / second); the unit names used
  on PrivateNumber's lines are UNCONFIRMED.
* 单价 / Unit Price: given for simple pricing (使用量 × 单价).
* 应付金额 / Amount Due (消费金额 in the transaction detail): what is charged after discounts;
  Huawei documents 应付金额 = (使用量 / 使用量转换比率) × 单价 − 优惠金额 − 抹零金额.

A bill of one line per hour tells each hour's minutes and amount, not which calls made them.
PrivateNumber's own console lists the calls (业务详单 > 呼叫详单, 31 days), whose ids Huawei's
FAQ calls 呼叫记录ID (the CDR's icid) and 绑定ID (its subscriptionId); a file whose lines carry
them is matched call by call. Those column names as headers of an export are UNCONFIRMED, as are
APP_Key and 呼叫结束时间 (read when present). Sources (more in ``docs/billing.md``):

* https://support.huaweicloud.com/usermanual-billing/bills-topic_50000004.html (使用量类型明细账单
  文件格式: 账期 … 消费时间, 使用开始时间, 使用结束时间) and its English page under ``/en-us/``;
* https://support.huaweicloud.com/usermanual-billing/bills-topic_50000001.html (应付金额);
* https://support.huaweicloud.com/usermanual-billing/bills-topic_new_1000102.html (流水账单, 导出);
* Huawei Cloud's PrivateNumber FAQ on huaweicloud.com (隐私号码通话费用怎么计算: 结算时以小时为周期
  扣费, 优先扣除已购买套餐包内的额度; the 业务详单's 呼叫记录ID and 绑定ID; 无法自动按应用或X号码
  统计费用).

**The comparison**, by hour and application, with the CDRs behind every difference:

* a call on the bill with no CDR here: **billed, never pushed** (the loss the console exists to
  prevent): counted, listed first, a red line on the page and an alert;
* a call here with billable minutes that is not on the bill: pushed, not billed;
* a different length (minutes), else a different amount (price, or the package's share), else a
  different hour (Huawei's hour against the hour its callEndTime falls in here);
* lines without a call id: the hour's minutes and amount against the console's for that hour
  (of the application, or of every application for the account's lines).

Our amount of a call is its excess minutes (``billing.settlement``: the package minutes go to
the hour's calls in the order they ended) times its direction's price in the month's tariff.

**The job.** The upload is read once in the request (a file without the columns is refused at
once) and kept; a worker reads it again within the limits of ``bindings.uploads`` (size, rows,
cells, columns, XLSX bombs), compares, and writes the differences in one transaction; the page
polls its progress. A worker that dies leaves its lease to run out: the sweeper runs it again
from the start (``billing.jobs``). Running twice gives the same differences.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing import settlement
from billing.choices import DifferenceKind, ReconciliationState
from billing.models import BillDifference, BillReconciliation, CallRecord
from billing.services import CENT, month_bounds, month_start, price_of, tariff_for
from bindings import uploads
from console import alerts, audit, jobs
from console.choices import AlertKind, AuditAction
from console.models import Application

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
BEIJING = ZoneInfo("Asia/Shanghai")
# Header names by what they mean (Chinese as exported, English aliases); see the docstring.
COLUMNS: dict[str, tuple[str, ...]] = {
    "cycle": ("账期", "Billing Cycle"),
    "period": ("消费时间", "Expenditure Time", "Consumption Time"),
    "usage_start": ("使用开始时间", "Usage Start Time"),
    "service": ("产品类型", "Service Type"),
    "resource_id": ("资源ID", "Resource ID"),
    "resource_name": ("资源名称", "Resource Name"),
    "usage_type": ("使用量类型", "Usage Type"),
    "usage": ("使用量", "Usage"),
    "usage_unit": ("使用量单位", "Usage Unit"),
    "unit_price": ("单价", "Unit Price"),
    "amount": ("应付金额", "消费金额", "Amount Due", "Amount"),
    # UNCONFIRMED as export headers (PrivateNumber's call list names them): see the docstring.
    "call_id": ("呼叫记录ID", "Call Record ID", "icid"),
    "subscription_id": ("绑定ID", "Binding ID", "subscriptionId"),
    "app_key": ("APP_Key", "app_key", "appKey"),
    "call_end": ("呼叫结束时间", "Call End Time", "callEndTime"),
}
SERVICE_NAMES = ("隐私保护通话", "privatenumber", "private number", "privacy protection call")
MINUTE_UNITS = ("分钟", "分", "min", "mins", "minute", "minutes")
SECOND_UNITS = ("秒", "s", "sec", "secs", "second", "seconds")
CALL_USAGE_WORDS = ("通话", "呼叫", "语音", "call", "voice")
HEADER_SEARCH_ROWS = 10
ERRORS_SHOWN = 20
DIFFERENCES_KEPT = 10_000  # of each kind; the counts are exact
PROGRESS_EVERY = 1000
_DATETIME = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
    r"\s*(?:(?:GMT|UTC)\s*([+-])(\d{1,2}):?(\d{2})?|(Z|UTC|GMT)\b)?"
)


class BillRefused(Exception):
    """A bill file that cannot be compared, with the reason in the uploader's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def limits() -> uploads.Limits:
    return uploads.Limits(
        max_bytes=settings.BILLING_BILL_MAX_BYTES,
        max_rows=settings.BILLING_BILL_MAX_ROWS,
        max_cell_chars=settings.UPLOAD_MAX_CELL_CHARS,
        max_columns=settings.BILLING_BILL_MAX_COLUMNS,
        max_unpacked_bytes=settings.UPLOAD_MAX_UNPACKED_BYTES,
        max_ratio=settings.UPLOAD_MAX_UNPACK_RATIO,
    )


# ---------------------------------------------------------------------------------------------
# Reading the bill
# ---------------------------------------------------------------------------------------------


def _header_name(value: Any) -> str:
    """A header cell as compared: no unit in brackets (应付金额(元)), no spaces, lower case."""
    text = re.sub(r"[（(][^)）]*[)）]", "", str(value or ""))
    return re.sub(r"\s+", " ", text).strip().lower()


_ALIASES = {_header_name(alias): key for key, names in COLUMNS.items() for alias in names}


def header_columns(row: list[Any]) -> dict[str, int]:
    """{meaning: column index} of a header row (the first column of each meaning)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        key = _ALIASES.get(_header_name(cell))
        if key is not None and key not in found:
            found[key] = index
    return found


def _usable(columns: dict[str, int]) -> bool:
    return (
        "usage" in columns
        and "amount" in columns
        and any(k in columns for k in ("period", "usage_start", "call_end"))
    )


def parse_time(value: Any) -> datetime | None:
    """A time as the bill writes it: ``2020-08-23 22:00:00 GMT+08:00`` (the first one of a
    range), ``2020/07/02 08:36``, or a spreadsheet date. Without a zone: Beijing time."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=BEIJING)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=BEIJING)
    found = _DATETIME.search(str(value))
    if found is None:
        raise ValueError(str(value))
    year, month, day, hour, minute, second, sign, off_h, off_m, utc = found.groups()
    zone: Any = BEIJING
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        zone = timezone.get_fixed_timezone(offset if sign == "+" else -offset)
    elif utc:
        zone = UTC
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=zone,
    )


def parse_number(value: Any) -> Decimal:
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = str(value or "").replace(",", "").replace("¥", "").replace("￥", "").strip()
    if text in ("", "--", "-"):
        return Decimal(0)
    return Decimal(text)


@dataclass
class BillLine:
    """One line of the bill about call time: its hour, application, call id, minutes, amount."""

    row: int
    hour: datetime
    application_id: int | None
    call_id: str
    minutes: int
    amount: Decimal
    unit_price: Decimal | None


@dataclass
class Bill:
    """What the file said about the month's call time, and what it said about nothing else."""

    lines: list[BillLine] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0  # other services, SMS, rent
    other_month: int = 0
    cycles: set[str] = field(default_factory=set)


def _cell(row: list[Any], columns: dict[str, int], key: str) -> Any:
    index = columns.get(key)
    if index is None or index >= len(row):
        return None
    value = row[index]
    return value.strip() if isinstance(value, str) else value


def _is_call_time(row, columns) -> tuple[bool, bool]:
    """(is a line of call time, its usage is in seconds)."""
    service = str(_cell(row, columns, "service") or "").lower()
    if service and not any(name in service for name in SERVICE_NAMES):
        return False, False
    unit = str(_cell(row, columns, "usage_unit") or "").strip().lower()
    if unit:
        if unit in MINUTE_UNITS:
            return True, False
        if unit in SECOND_UNITS:
            return True, True
        return False, False
    usage_type = str(_cell(row, columns, "usage_type") or "").lower()
    if usage_type:
        return any(word in usage_type for word in CALL_USAGE_WORDS), False
    return True, False


def file_rows(file_format: str, file_name: str, content: bytes) -> Iterator[list[Any]]:
    fmt = file_format.lower()
    if fmt not in FORMATS or not file_name.lower().endswith("." + fmt):
        raise BillRefused(
            _("“%(name)s” is not a file of the chosen format (%(format)s).")
            % {"name": file_name, "format": fmt.upper()}
        )
    try:
        return uploads.file_rows(fmt, content, limits())
    except uploads.UploadRefused as refusal:
        raise BillRefused(refusal.message) from None


def find_header(rows: Iterator[list[Any]]) -> tuple[dict[str, int], int]:
    """The columns of the first row (of the first ten) that names the usage, the amount and a
    time; and its row number. Huawei's exports may open with a title line."""
    for number in range(1, HEADER_SEARCH_ROWS + 1):
        row = next(rows, None)
        if row is None:
            break
        columns = header_columns(row)
        if _usable(columns):
            return columns, number
    raise BillRefused(
        _(
            "No header row with the bill's columns was found in the first %(n)s rows: the file "
            "needs %(usage)s, %(amount)s and %(time)s (or %(start)s)."
        )
        % {
            "n": HEADER_SEARCH_ROWS,
            "usage": COLUMNS["usage"][0],
            "amount": COLUMNS["amount"][0],
            "time": COLUMNS["period"][0],
            "start": COLUMNS["usage_start"][0],
        }
    )


def check_file(file_format: str, file_name: str, content: bytes) -> None:
    """Refuse at once what can never be compared: wrong format, past a limit, no header."""
    try:
        uploads.check_size(len(content), limits())
    except uploads.UploadRefused as refusal:
        raise BillRefused(refusal.message) from None
    try:
        find_header(file_rows(file_format, file_name, content))
    except uploads.UploadRefused as refusal:
        raise BillRefused(refusal.message) from None
    except BillRefused:
        raise
    except Exception as error:
        raise BillRefused(
            _("The file could not be read as %(format)s: %(error)s")
            % {"format": file_format.upper(), "error": error}
        ) from error


def read_bill(job: BillReconciliation, content: bytes, progress=None) -> Bill:
    """The call-time lines of the month in the file; :class:`BillRefused` names the rows that
    cannot be read (up to twenty) and nothing is compared then."""
    start, end = (moment.astimezone(UTC) for moment in month_bounds(job.month))
    by_key = dict(Application.objects.values_list("app_key", "pk"))
    by_name = dict(Application.objects.values_list("name", "pk"))
    bill = Bill()
    errors: list[str] = []
    try:
        rows = file_rows(job.file_format, job.file_name, content)
        columns, header_row = find_header(rows)
        for number, row in enumerate(rows, start=header_row + 1):
            if progress is not None and number % PROGRESS_EVERY == 0:
                progress(number)
            if not any(v not in (None, "") for v in row):
                continue
            bill.rows += 1
            calls, in_seconds = _is_call_time(row, columns)
            if not calls:
                bill.skipped += 1
                continue
            try:
                line = _line(row, number, columns, in_seconds, by_key, by_name)
            except (ValueError, InvalidOperation) as error:
                if len(errors) < ERRORS_SHOWN:
                    errors.append(str(error))
                continue
            cycle = str(_cell(row, columns, "cycle") or "")
            if cycle:
                bill.cycles.add(cycle[:7].replace("/", "-"))
            if not start <= line.hour < end:
                bill.other_month += 1
                continue
            bill.lines.append(line)
    except uploads.UploadRefused as refusal:
        raise BillRefused(refusal.message) from None
    except BillRefused:
        raise
    except Exception as error:
        raise BillRefused(
            _("The file could not be read as %(format)s: %(error)s")
            % {"format": job.file_format.upper(), "error": error}
        ) from error
    if errors:
        raise BillRefused(
            _("Nothing was compared: these rows cannot be read. %(errors)s")
            % {"errors": " ".join(errors)}
        )
    if bill.other_month and not bill.lines:
        raise BillRefused(
            _("No line of the file is of %(month)s (its lines are of %(cycles)s).")
            % {
                "month": f"{job.month:%Y-%m}",
                "cycles": ", ".join(sorted(bill.cycles)) or _("other months"),
            }
        )
    return bill


def _line(row, number, columns, in_seconds, by_key, by_name) -> BillLine:
    def column_error(key: str, value: Any) -> ValueError:
        return ValueError(
            _("Row %(row)s, %(column)s: “%(value)s” cannot be read.")
            % {"row": number, "column": COLUMNS[key][0], "value": str(value)[:40]}
        )

    moment = None
    for key in ("call_end", "period", "usage_start"):
        value = _cell(row, columns, key)
        if value not in (None, ""):
            try:
                moment = parse_time(value)
            except ValueError:
                raise column_error(key, value) from None
            break
    if moment is None:
        raise ValueError(
            _("Row %(row)s has no time (%(column)s).")
            % {"row": number, "column": COLUMNS["period"][0]}
        )
    numbers = {}
    for key in ("usage", "amount", "unit_price"):
        value = _cell(row, columns, key)
        if key == "unit_price" and value in (None, "", "--"):
            numbers[key] = None
            continue
        try:
            numbers[key] = parse_number(value)
        except InvalidOperation:
            raise column_error(key, value) from None
    usage = numbers["usage"] / 60 if in_seconds else numbers["usage"]
    minutes = int(usage.to_integral_value(rounding=ROUND_CEILING))
    application_id = None
    for key in ("app_key", "resource_id", "resource_name"):
        value = str(_cell(row, columns, key) or "")
        if value:
            application_id = by_key.get(value) or by_name.get(value)
            if application_id:
                break
    return BillLine(
        row=number,
        hour=settlement.floor_hour(moment),
        application_id=application_id,
        call_id=str(_cell(row, columns, "call_id") or ""),
        minutes=minutes,
        amount=numbers["amount"].quantize(CENT),
        unit_price=numbers["unit_price"],
    )


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------


@dataclass
class OurCall:
    """A CDR of ours with what the console charges for it."""

    id: int
    application_id: int
    key: str
    hour: datetime
    direction: int
    minutes: int
    talk_seconds: int
    package_minutes: int
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.price * (self.minutes - self.package_minutes)).quantize(CENT)


@dataclass
class Comparison:
    differences: list[BillDifference] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    our_minutes: int = 0
    our_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    unpushed_minutes: int = 0
    unpushed_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    billed_calls: int = 0
    billed_minutes: int = 0
    billed_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))

    def add(self, kind: str, **values: Any) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= DIFFERENCES_KEPT:
            self.differences.append(BillDifference(kind=kind, **values))


def our_calls(application: Application, month: date) -> Iterator[OurCall]:
    """The billed calls of ``application`` that ended in ``month``, each with its package
    minutes (the hourly settlement's order) and price."""
    start, end = month_bounds(month)
    tariff = tariff_for(application, month)
    figures = {f.hour: f for f in settlement.hours(application.pk, start, end)}
    partial = {
        hour: settlement.split_calls(application.pk, hour, f.package_minutes)
        for hour, f in figures.items()
        if 0 < f.package_minutes < f.minutes
    }
    rows = (
        settlement.billed_calls(application.pk)
        .filter(call_end_time__gte=start, call_end_time__lt=end)
        .order_by("call_end_time", "cdr_key")
        .values_list(
            "id", "cdr_key", "call_end_time", "direction", "billable_minutes", "talk_seconds"
        )
    )
    for pk, key, ended, direction, minutes, talk in rows.iterator(chunk_size=2000):
        hour = settlement.floor_hour(ended)
        hour_figures = figures.get(hour)
        if hour in partial:
            package = partial[hour].get(pk, 0)
        elif hour_figures is not None and hour_figures.package_minutes >= hour_figures.minutes:
            package = minutes
        else:
            package = 0
        yield OurCall(
            id=pk,
            application_id=application.pk,
            key=key,
            hour=hour,
            direction=direction,
            minutes=minutes,
            talk_seconds=talk,
            package_minutes=package,
            price=price_of(tariff, direction),
        )


def compare(job: BillReconciliation, bill: Bill, progress=None) -> Comparison:
    """Every difference between ``bill`` and the console's figures for the job's month."""
    result = Comparison()
    applications = (
        [job.application] if job.application_id else list(Application.objects.order_by("pk"))
    )
    scope = {app.pk for app in applications}
    lines_in_scope = [
        line for line in bill.lines if line.application_id is None or line.application_id in scope
    ]
    result.billed_calls = sum(1 for line in lines_in_scope if line.call_id)
    result.billed_minutes = sum(line.minutes for line in lines_in_scope)
    result.billed_amount = sum((line.amount for line in lines_in_scope), Decimal("0.00"))
    per_call = [line for line in bill.lines if line.call_id]
    hourly = [line for line in bill.lines if not line.call_id]
    billed: dict[str, list[BillLine]] = defaultdict(list)
    for line in per_call:
        if line.application_id is None or line.application_id in scope:
            billed[line.call_id].append(line)
    ours_by_hour: dict[tuple[int, datetime], tuple[int, Decimal]] = defaultdict(
        lambda: (0, Decimal("0.00"))
    )
    seen = 0
    for application in applications:
        for call in our_calls(application, job.month):
            seen += 1
            if progress is not None and seen % PROGRESS_EVERY == 0:
                progress(seen)
            result.our_minutes += call.minutes
            result.our_amount += call.amount
            minutes, amount = ours_by_hour[(call.application_id, call.hour)]
            ours_by_hour[(call.application_id, call.hour)] = (
                minutes + call.minutes,
                amount + call.amount,
            )
            lines = billed.pop(call.key, None)
            if lines is None:
                if per_call:
                    result.add(
                        DifferenceKind.NOT_BILLED,
                        application_id=call.application_id,
                        hour=call.hour,
                        call_record_id=call.id,
                        call_id=call.key,
                        our_minutes=call.minutes,
                        our_amount=call.amount,
                        our_price=call.price,
                        detail={"package_minutes": call.package_minutes},
                    )
                continue
            _compare_call(result, call, lines)
    _unmatched(result, billed, scope)
    if hourly:
        _compare_hours(result, hourly, ours_by_hour, scope)
    return result


def _merged(lines: list[BillLine]) -> BillLine:
    """A call billed on several lines (split at an hour, or listed twice) as one."""
    first = lines[0]
    if len(lines) == 1:
        return first
    return BillLine(
        row=first.row,
        hour=first.hour,
        application_id=first.application_id,
        call_id=first.call_id,
        minutes=sum(line.minutes for line in lines),
        amount=sum((line.amount for line in lines), Decimal("0.00")),
        unit_price=first.unit_price,
    )


def _compare_call(result: Comparison, call: OurCall, lines: list[BillLine]) -> None:
    line = _merged(lines)
    values = {
        "application_id": call.application_id,
        "hour": call.hour,
        "call_record_id": call.id,
        "call_id": call.key,
        "row": line.row,
        "billed_minutes": line.minutes,
        "our_minutes": call.minutes,
        "billed_amount": line.amount,
        "our_amount": call.amount,
        "billed_price": line.unit_price,
        "our_price": call.price,
        "detail": {
            "package_minutes": call.package_minutes,
            "excess_minutes": call.minutes - call.package_minutes,
            "talk_seconds": call.talk_seconds,
            "billed_hour": line.hour.isoformat(),
            "lines": len(lines),
        },
    }
    if line.minutes != call.minutes:
        result.add(DifferenceKind.LENGTH, **values)
    elif line.amount != call.amount:
        result.add(DifferenceKind.PRICE, **values)
    elif line.hour != call.hour:
        result.add(DifferenceKind.HOUR, **values)


def _unmatched(result: Comparison, billed: dict[str, list[BillLine]], scope: set[int]) -> None:
    """Calls on the bill the month's CDRs did not match: a CDR of another hour or month (or one
    without minutes here), one of an application not compared (left alone), else never
    pushed."""
    keys = list(billed)
    for index in range(0, len(keys), 1000):
        batch = keys[index : index + 1000]
        found = {
            record.cdr_key: record
            for record in CallRecord.objects.filter(cdr_key__in=batch).only(
                "id",
                "cdr_key",
                "application_id",
                "call_end_time",
                "started_at",
                "billable_minutes",
                "talk_seconds",
            )
        }
        for key in batch:
            line = _merged(billed[key])
            record = found.get(key)
            if record is None:
                result.unpushed_minutes += line.minutes
                result.unpushed_amount += line.amount
                result.add(
                    DifferenceKind.UNPUSHED,
                    application_id=line.application_id,
                    hour=line.hour,
                    call_id=key,
                    row=line.row,
                    billed_minutes=line.minutes,
                    billed_amount=line.amount,
                    billed_price=line.unit_price,
                )
                continue
            if record.application_id not in scope:
                continue
            hour = settlement.floor_hour(record.call_end_time or record.started_at)
            if record.billable_minutes == 0 and line.minutes == 0 and line.amount == 0:
                continue  # an unbilled call on both sides
            same_length = line.minutes == record.billable_minutes
            result.add(
                DifferenceKind.HOUR if same_length else DifferenceKind.LENGTH,
                application_id=record.application_id,
                hour=line.hour,
                call_record_id=record.pk,
                call_id=key,
                row=line.row,
                billed_minutes=line.minutes,
                our_minutes=record.billable_minutes,
                billed_amount=line.amount,
                billed_price=line.unit_price,
                detail={
                    "billed_hour": line.hour.isoformat(),
                    "our_hour": hour.isoformat(),
                    "talk_seconds": record.talk_seconds,
                    "elsewhere": True,
                },
            )


def _compare_hours(result, hourly: list[BillLine], ours_by_hour, scope: set[int]) -> None:
    """The bill's hourly lines against the console's hours: per application where the line
    names one, else against all of the applications compared."""
    account_wide = any(line.application_id is None for line in hourly)
    billed: dict[tuple[int | None, datetime], list[Any]] = defaultdict(
        lambda: [0, Decimal("0.00"), 0]
    )
    for line in hourly:
        total = billed[(None if account_wide else line.application_id, line.hour)]
        total[0] += line.minutes
        total[1] += line.amount
        total[2] = total[2] or line.row
    ours: dict[tuple[int | None, datetime], list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])
    for (application_id, hour), (minutes, amount) in ours_by_hour.items():
        key = (None if account_wide else application_id, hour)
        ours[key][0] += minutes
        ours[key][1] += amount
    for key in sorted(set(billed) | set(ours), key=lambda k: (k[1], k[0] or 0)):
        application_id, hour = key
        if application_id is not None and application_id not in scope:
            continue
        b_minutes, b_amount, row = billed.get(key, (0, Decimal("0.00"), None))
        o_minutes, o_amount = ours.get(key, (0, Decimal("0.00")))
        if (b_minutes, b_amount) != (o_minutes, o_amount):
            result.add(
                DifferenceKind.HOUR_TOTAL,
                application_id=application_id,
                hour=hour,
                row=row,
                billed_minutes=b_minutes,
                our_minutes=o_minutes,
                billed_amount=b_amount,
                our_amount=o_amount,
            )


# ---------------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------------

RUNNING = (ReconciliationState.QUEUED, ReconciliationState.READING, ReconciliationState.COMPARING)
FINISHED = (ReconciliationState.DONE, ReconciliationState.FAILED)


def start(
    month: date,
    file_name: str,
    file_format: str,
    content: bytes,
    *,
    application: Application | None = None,
    user=None,
    language: str = "",
    request=None,
) -> BillReconciliation:
    """Keep an uploaded bill and queue its reconciliation; refuses a file it can never read."""
    from billing.tasks import reconcile_bill_task

    if user is not None and not user.has_perm("billing.add_billreconciliation"):
        raise PermissionDenied
    check_file(file_format, file_name, content)
    with transaction.atomic():
        job = BillReconciliation.objects.create(
            month=month_start(month),
            application=application,
            file_name=file_name[:200],
            file_format=file_format.lower(),
            source=content,
            language=language[:16],
            created_by=user if getattr(user, "pk", None) else None,
            lease_until=jobs.lease(),
        )
        audit.record(
            AuditAction.IMPORT,
            job,
            user=user,
            request=request,
            details={"bill": job.file_name, "month": f"{job.month:%Y-%m}", "bytes": len(content)},
        )
        jobs.send_on_commit(
            reconcile_bill_task, job.pk, job=BillReconciliation.objects.filter(pk=job.pk)
        )
    return job


def _progress(job_id: int, state: str):
    def publish(count: int) -> None:
        BillReconciliation.objects.filter(pk=job_id, state=state).update(
            processed_rows=count, lease_until=jobs.lease()
        )

    return publish


def run(job_id: int) -> BillReconciliation | None:
    """Read the bill, compare it, store the differences: the worker's job. From the start each
    time it runs (a redelivered task, the sweeper), so twice gives the same result."""
    claimed = BillReconciliation.objects.filter(pk=job_id, state__in=RUNNING).update(
        state=ReconciliationState.READING, processed_rows=0, lease_until=jobs.lease()
    )
    job = BillReconciliation.objects.select_related("application").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            bill = read_bill(job, bytes(job.source), _progress(job.pk, ReconciliationState.READING))
        except BillRefused as refusal:
            fail(job.pk, refusal.message)
            job.refresh_from_db()
            return job
        BillReconciliation.objects.filter(pk=job.pk).update(
            state=ReconciliationState.COMPARING,
            total_rows=bill.rows,
            processed_rows=0,
            lease_until=jobs.lease(),
        )
        comparison = compare(job, bill, _progress(job.pk, ReconciliationState.COMPARING))
        _store(job, bill, comparison)
    job.refresh_from_db()
    return job


def _store(job: BillReconciliation, bill: Bill, comparison: Comparison) -> None:
    unpushed = comparison.counts.get(DifferenceKind.UNPUSHED, 0)
    with transaction.atomic():
        locked = BillReconciliation.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.state != ReconciliationState.COMPARING:
            return  # another run finished it meanwhile
        BillDifference.objects.filter(reconciliation=job).delete()
        for difference in comparison.differences:
            difference.reconciliation = job
        BillDifference.objects.bulk_create(comparison.differences, batch_size=1000)
        BillReconciliation.objects.filter(pk=job.pk).update(
            state=ReconciliationState.DONE,
            total_rows=bill.rows,
            processed_rows=bill.rows,
            skipped_rows=bill.skipped + bill.other_month,
            billed_calls=comparison.billed_calls,
            billed_minutes=comparison.billed_minutes,
            billed_amount=comparison.billed_amount,
            our_minutes=comparison.our_minutes,
            our_amount=comparison.our_amount,
            difference_count=sum(comparison.counts.values()),
            unpushed_count=unpushed,
            unpushed_minutes=comparison.unpushed_minutes,
            unpushed_amount=comparison.unpushed_amount,
            error="",
            source=b"",  # the company's bill is not kept past its use; the figures stay
            lease_until=None,
            finished_at=timezone.now(),
        )
        key = f"bill:{job.month:%Y-%m}:{job.application_id or 'all'}"
        if unpushed:
            alerts.raise_alert(
                AlertKind.UNPUSHED_CDRS,
                key,
                application=job.application,
                title=gettext_noop(
                    "%(count)s call(s) Huawei billed in %(month)s never reached the console"
                ),
                detail=gettext_noop(
                    "The bill charges %(minutes)s minutes, %(amount)s CNY, for calls whose call "
                    "records were never pushed to the console. Check the CDR push address on the "
                    "platform and the inbox of pushes; the reconciliation lists the calls."
                ),
                params={
                    "count": unpushed,
                    "month": f"{job.month:%Y-%m}",
                    "minutes": comparison.unpushed_minutes,
                    "amount": str(comparison.unpushed_amount),
                    "reconciliation": job.pk,
                },
            )
        else:
            alerts.resolve_alert(AlertKind.UNPUSHED_CDRS, key)


def fail(job_id: int, message: str) -> None:
    BillReconciliation.objects.filter(pk=job_id, state__in=RUNNING).update(
        state=ReconciliationState.FAILED,
        error=message,
        lease_until=None,
        finished_at=timezone.now(),
    )


def abandon(job_id: int, error: BaseException) -> None:
    """A run that stopped on an unexpected error: the job fails, saying so."""
    job = BillReconciliation.objects.filter(pk=job_id).only("language").first()
    if job is None:
        return
    with translation.override(job.language or settings.LANGUAGE_CODE):
        fail(job_id, _("The bill could not be compared: %(error)s") % {"error": error})


def progress(job: BillReconciliation) -> dict[str, Any]:
    """What the page shows while it waits, and polls."""
    return {
        "id": job.pk,
        "state": job.state,
        "state_display": job.get_state_display(),
        "processed": job.processed_rows,
        "total": job.total_rows,
        "finished": job.state in FINISHED,
        "error": job.error,
        "differences": job.difference_count,
        "unpushed": job.unpushed_count,
    }
