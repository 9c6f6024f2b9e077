"""Reading Huawei's bill export: its header row found among the first rows, the columns by
what they mean (``COLUMNS``), each line parsed within the upload limits (the package's docstring
names the sources)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import settlement
from billing.models import BillReconciliation
from billing.services import CENT, month_bounds
from bindings import uploads
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
