"""Strict pydantic models of everything the PrivateNumber platform exchanges (spec §5 and §6).

Three families:

* **requests** the client sends (JSON bodies of POST/PUT, query parameters of GET/DELETE): extra
  fields are refused so a typo fails here, not at the platform;
* **responses** the client receives and **pushes** the platform sends (call events, CDRs, X-number
  status, SMS notices): unknown fields are ignored, because the platform adds fields over time, but
  every known field is checked for type, length and allowed values;
* **Block answers** the customer gives to X-mode call-ins and Block SMS notices.

Python attributes are snake_case; the spec's names are the aliases. ``model.to_wire()`` (the same as
``model_dump(mode="json", by_alias=True, exclude_none=True)``) gives the wire body or query.
Platform times (``yyyy-MM-dd HH:mm:ss``, UTC) become aware UTC datetimes; empty strings the platform
sends for absent values (``subscriptionId``, ``fwdAnswerTime`` …) become ``None``.

:func:`parse_push` turns a raw push body into its model and raises :class:`SchemaError` naming the
first offending field (``feeLst.3.callerNum: String should have at most 32 characters``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

# UNCONFIRMED choices (spec §13) live in the one register, privatenumber.unconfirmed; the names
# below are kept here because callers read them off this module. Field *names* of UNCONFIRMED
# response lists are on the models themselves and marked there.
from privatenumber import unconfirmed
from privatenumber.unconfirmed import (
    AX_MODIFY_REQUIRES_PRIVATE_SMS,
    AX_PRIVATE_NUM_TYPE,
    AXE_COUNT_COUNT_FIELD,
    AXE_COUNT_CURSOR_FIELD,
    AXE_COUNT_LIMIT_RANGE,
    AXE_COUNT_LIST_FIELD,
    AXE_COUNT_NUMBER_FIELD,
    AXE_DISPLAY_NUM_MODE_NAMES,
    AXE_V2_LIMIT_RANGE,
    FEE_EXTEND_NUMBER_NAMES,
    RECORD_URL_MAX_LENGTH,
    SMS_EXT_DIRECTION,
    SMS_EXT_SPLIT_NUM,
    STOP_CALL_SESSION_FIELD,
    STOP_CALL_SIGNAL,
)

# The first cursors of the two cursor-paged queries, read off this module by callers.
AXE_V2_FIRST_CURSOR = unconfirmed.AXE_V2_FIRST_CURSOR
AXE_COUNT_FIRST_CURSOR = unconfirmed.AXE_COUNT_FIRST_CURSOR

# ---------------------------------------------------------------------------------------------
# Field types
# ---------------------------------------------------------------------------------------------

# Global number format (spec §1.2): +86 and an 11-digit mobile starting with 1, or +86, an area
# code without its leading 0 (10, 2x, or three digits from 3xx to 9xx) and a 7- or 8-digit number.
# [0-9], not \d: \d also matches full-width and other Unicode digits.
GLOBAL_NUMBER_RE = re.compile(r"^\+86(?:1[0-9]{10}|(?:10|2[0-9]|[3-9][0-9]{2})[0-9]{7,8})$")


def is_global_number(value: str) -> bool:
    """Whether ``value`` is a number in the platform's global format (``+8613800000001``)."""
    return bool(GLOBAL_NUMBER_RE.fullmatch(value))


def _check_global_number(value: str) -> str:
    if not is_global_number(value):
        raise ValueError(
            "must be a global-format number: +86 and an 11-digit mobile, "
            "or +86, the area code without 0 and the 7/8-digit number"
        )
    return value


# CJK ideographs, CJK punctuation and full-width forms: "no Chinese characters" in userData.
_CHINESE_RE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _check_user_data(value: str) -> str:
    if "{" in value or "}" in value:
        raise ValueError("must not contain { or }")
    if _CHINESE_RE.search(value):
        raise ValueError("must not contain Chinese characters (Base64-encode them)")
    return value


# String(a-b) in Huawei's notation, as type aliases.
Text1to4 = Annotated[str, StringConstraints(min_length=1, max_length=4)]
Text1to32 = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Text0to64 = Annotated[str, StringConstraints(min_length=0, max_length=64)]
Text1to64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text0to128 = Annotated[str, StringConstraints(min_length=0, max_length=128)]
Text1to128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Text0to256 = Annotated[str, StringConstraints(min_length=0, max_length=256)]
Text1to256 = Annotated[str, StringConstraints(min_length=1, max_length=256)]

# Integers are strict, so True or "5" are not taken for numbers.
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
ZeroOrOne = Annotated[int, Field(strict=True, ge=0, le=1)]
CallDirection = Annotated[int, Field(strict=True, ge=0, le=2)]
Duration = Annotated[int, Field(strict=True, ge=0, le=7776000)]
MaxDuration = Annotated[int, Field(strict=True, ge=0, le=1440)]
TemporaryCalleeDuration = Annotated[int, Field(strict=True, ge=1, le=259200)]
# Integers of a URL query arrive as strings on the server side, so these are lax.
PageIndex = Annotated[int, Field(ge=1)]
PageSize = Annotated[int, Field(ge=10, le=100)]
AxeV2Limit = Annotated[int, Field(ge=AXE_V2_LIMIT_RANGE[0], le=AXE_V2_LIMIT_RANGE[1])]

GlobalNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=32), AfterValidator(_check_global_number)
]
UserData = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_check_user_data)
]
SubscriptionId = Text1to64
TrueFalse = Literal["true", "false"]


def _flag_from_boolean(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


# recordFlag: String "true"/"false" in every table, a JSON boolean in Huawei's AXYB Node sample
# (privatenumber.unconfirmed.RECORD_FLAG_ACCEPTS_BOOLEAN): both are read, the string is sent.
RecordFlag = Annotated[TrueFalse, BeforeValidator(_flag_from_boolean)]
ZeroOne = Literal["0", "1"]
AreaCode = Annotated[str, StringConstraints(pattern=r"^0[0-9]{2,3}$")]
ExtendNum = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,4}$")]


def _check_axyb(value: int) -> int:
    if value != 0 and not 60 <= value <= 7776000:
        raise ValueError("must be 0 or between 60 and 7776000 seconds")
    return value


# AXYB lifetimes: 0 (never / ends with AX) or 60–7776000 seconds.
AxybDuration = Annotated[int, Field(strict=True), AfterValidator(_check_axyb)]


PLATFORM_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_PLATFORM_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
SMS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_SMS_TIME_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z$"
)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must be an aware datetime")
    return value.astimezone(UTC)


def _parse_platform_time(value: Any) -> Any:
    """``2019-01-23 09:15:14`` (UTC) to an aware datetime; ``""`` to None."""
    if value is None or value == "":
        return None
    if (
        type(value) is str
        and len(value) == 19
        and value[10] == " "
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
        and value.isascii()
    ):
        # The shape of the pattern, checked without the regex (seven times per CDR, 350 per push
        # of 50; issue 19): the C fromisoformat then reads the digits or refuses them, in a
        # twentieth of strptime's time. The "+00:00" makes it UTC (``datetime.UTC`` itself),
        # far cheaper than ``.replace(tzinfo=UTC)``.
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            pass  # a letter for a digit, or 2019-13-01: worded below, as always
    if isinstance(value, datetime):
        return _aware_utc(value)
    if not isinstance(value, str) or not _PLATFORM_TIME_RE.fullmatch(value):
        raise ValueError("must be a time like 2019-01-23 09:15:14")
    # e.g. 2019-13-01: let strptime refuse it, in the words it always used
    return datetime.strptime(value, PLATFORM_TIME_FORMAT).replace(tzinfo=UTC)


def _format_platform_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(PLATFORM_TIME_FORMAT)


def _parse_sms_time(value: Any) -> Any:
    """``2018-09-13T09:46:16.023Z`` to an aware datetime."""
    if isinstance(value, datetime):
        return _aware_utc(value)
    if not isinstance(value, str) or not _SMS_TIME_RE.fullmatch(value):
        raise ValueError("must be a time like 2018-09-13T09:46:16.023Z")
    text = value[:-1] if "." in value else value[:-1] + ".0"
    return datetime.strptime(text + "Z", SMS_TIME_FORMAT).replace(tzinfo=UTC)


def _format_sms_time(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


PlatformTime = Annotated[
    datetime | None,
    BeforeValidator(_parse_platform_time),
    PlainSerializer(_format_platform_time, return_type=str | None),
]
RequiredPlatformTime = Annotated[
    datetime,
    BeforeValidator(_parse_platform_time),
    PlainSerializer(_format_platform_time, return_type=str),
]
SmsTime = Annotated[
    datetime, BeforeValidator(_parse_sms_time), PlainSerializer(_format_sms_time, return_type=str)
]


# Optional pushed strings of at most N characters; the platform's "" means absent.
Pushed4 = Annotated[
    Annotated[str, StringConstraints(max_length=4)] | None, BeforeValidator(_empty_to_none)
]
Pushed32 = Annotated[
    Annotated[str, StringConstraints(max_length=32)] | None, BeforeValidator(_empty_to_none)
]
Pushed64 = Annotated[
    Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_empty_to_none)
]
Pushed128 = Annotated[
    Annotated[str, StringConstraints(max_length=128)] | None, BeforeValidator(_empty_to_none)
]
Pushed256 = Annotated[
    Annotated[str, StringConstraints(max_length=256)] | None, BeforeValidator(_empty_to_none)
]
PushedUrl = Annotated[
    Annotated[str, StringConstraints(max_length=RECORD_URL_MAX_LENGTH)] | None,
    BeforeValidator(_empty_to_none),
]


# ---------------------------------------------------------------------------------------------
# Bases
# ---------------------------------------------------------------------------------------------


class WireModel(BaseModel):
    """Base of every model: camelCase aliases, strict types, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        strict=True,
        frozen=True,
        extra="forbid",
    )

    def to_wire(self) -> dict[str, Any]:
        """The body (or query) as the platform spells it, without absent fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Request(WireModel):
    """Something we send: unknown fields are a bug and refused."""


class QueryParams(Request):
    """URL parameters of a GET/DELETE. Lax, so a server can validate the strings of a query."""

    model_config = ConfigDict(strict=False)


class Received(WireModel):
    """Something we receive: unknown fields are ignored, known ones validated."""

    model_config = ConfigDict(extra="ignore")


class ResultEnvelope(Received):
    """The envelope every C→P answer carries (spec §1.4); the whole answer of modify/unbind."""

    result_code: str = Field(alias="resultcode", min_length=1, max_length=32)
    result_desc: str = Field(alias="resultdesc", min_length=1, max_length=256)


# ---------------------------------------------------------------------------------------------
# Shared rules
# ---------------------------------------------------------------------------------------------


def _require_one(model: BaseModel, *names: str) -> None:
    if all(getattr(model, name) is None for name in names):
        aliases = " or ".join(to_camel(name) for name in names)
        raise ValueError(f"one of {aliases} is required")


def _require_together(model: BaseModel, first: str, second: str) -> None:
    if (getattr(model, first) is None) != (getattr(model, second) is None):
        raise ValueError(f"{to_camel(first)} and {to_camel(second)} must be given together")


def _check_recording(record_flag: str | None, hint: str | None, *, binding: bool) -> None:
    """recordHintTone only with recording on (at bind) / not with recording off (at modify)."""
    if hint is None:
        return
    if (binding and record_flag != "true") or record_flag == "false":
        raise ValueError('recordHintTone needs recordFlag "true"')


def _check_last_minute(
    max_duration: int | None, last_min_voice: str | None, *, binding: bool
) -> None:
    if not last_min_voice:
        return
    if max_duration == 0 or (binding and max_duration is None):
        raise ValueError("lastMinVoice needs a non-zero maxDuration")


def _check_callback(callback_num: str | None, callback_tone: str | None) -> None:
    if callback_num is not None and callback_tone is not None:
        raise ValueError("callbackNum and callbackTone are mutually exclusive")


# ---------------------------------------------------------------------------------------------
# AXB (spec §5.1)
# ---------------------------------------------------------------------------------------------


class PlayInfo(Request):
    """ApiPlayInfo: pre-connect waiting tones (uploaded and approved voice files)."""

    caller_hint_tone: Text0to128 | None = None
    callee_hint_tone: Text0to128 | None = None


class AxbBindRequest(Request):
    """Create an AXB binding: ``POST /rest/caas/relationnumber/partners/v1.0``."""

    relation_num: GlobalNumber | None = None
    area_code: AreaCode | None = None
    area_match_mode: ZeroOne | None = None
    caller_num: GlobalNumber
    callee_num: GlobalNumber
    call_direction: CallDirection | None = None
    duration: Duration | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    max_duration: MaxDuration | None = None
    last_min_voice: Text0to128 | None = None
    private_sms: TrueFalse | None = None
    pre_voice: PlayInfo | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_recording(self.record_flag, self.record_hint_tone, binding=True)
        _check_last_minute(self.max_duration, self.last_min_voice, binding=True)
        return self


class AxbBindResponse(ResultEnvelope):
    """Answer to an AXB bind. The echoes are UNCONFIRMED (by analogy with AX)."""

    subscription_id: SubscriptionId
    relation_num: Text1to32 | None = None
    caller_num: Text1to32 | None = None
    callee_num: Text1to32 | None = None
    user_data: Text1to256 | None = None


class AxbModifyRequest(Request):
    """Modify an AXB binding: ``PUT /rest/caas/relationnumber/partners/v1.0``; absent = unchanged.

    ``duration`` counts from the modification. callerNum/calleeNum are UNCONFIRMED (Java sample).
    """

    subscription_id: SubscriptionId
    caller_num: GlobalNumber | None = None
    callee_num: GlobalNumber | None = None
    call_direction: CallDirection | None = None
    duration: Duration | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    max_duration: MaxDuration | None = None
    last_min_voice: Text0to128 | None = None
    private_sms: TrueFalse | None = None
    pre_voice: PlayInfo | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_recording(self.record_flag, self.record_hint_tone, binding=False)
        _check_last_minute(self.max_duration, self.last_min_voice, binding=False)
        return self


class AxbQueryParams(QueryParams):
    """Query AXB bindings: ``GET /rest/caas/relationnumber/partners/v1.0``.

    ``subscriptionId`` finds one binding; ``relationNum`` alone lists the bindings on X (paged);
    with ``callerNum``/``calleeNum`` it finds the binding of that user on X.
    """

    relation_num: Annotated[GlobalNumber, StringConstraints(min_length=4, max_length=31)] | None = (
        None
    )
    subscription_id: SubscriptionId | None = None
    caller_num: Annotated[GlobalNumber, StringConstraints(min_length=4, max_length=128)] | None = (
        None
    )
    callee_num: Annotated[GlobalNumber, StringConstraints(min_length=4, max_length=128)] | None = (
        None
    )
    page_index: PageIndex | None = None
    page_size: PageSize | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_one(self, "relation_num", "subscription_id")
        return self


class AxbBindingInfo(Received):
    """One AXB binding in a query answer. Field names UNCONFIRMED (spec §5.1.3, simulator's)."""

    subscription_id: SubscriptionId
    relation_num: Text1to32 | None = None
    caller_num: Text1to32 | None = None
    callee_num: Text1to32 | None = None
    call_direction: CallDirection | None = None
    duration: Duration | None = None
    max_duration: MaxDuration | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text0to128 | None = None
    private_sms: TrueFalse | None = None
    last_min_voice: Text0to128 | None = None
    pre_voice: PlayInfo | None = None
    subscribe_time: PlatformTime = None
    user_data: Text0to256 | None = None


class AxbQueryResponse(ResultEnvelope):
    """Answer to an AXB query. List and paging names UNCONFIRMED (spec §5.1.3, simulator's)."""

    total_count: NonNegativeInt | None = None
    page_index: PositiveInt | None = None
    page_size: PositiveInt | None = None
    relation_num_list: list[AxbBindingInfo] = Field(default_factory=list)


class AxbUnbindParams(QueryParams):
    """Delete AXB binding(s): ``DELETE /rest/caas/relationnumber/partners/v1.0``.

    ``relationNum`` alone removes **every** binding on that X.
    """

    subscription_id: SubscriptionId | None = None
    relation_num: Annotated[GlobalNumber, StringConstraints(min_length=4, max_length=31)] | None = (
        None
    )

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_one(self, "subscription_id", "relation_num")
        return self


# ---------------------------------------------------------------------------------------------
# AX (spec §5.2)
# ---------------------------------------------------------------------------------------------


class AxBindRequest(Request):
    """Create an AX binding: ``POST /rest/provision/caas/privatenumber/v1.0``.

    Binding by ``areaCode`` fills ``privateNumType`` with :data:`AX_PRIVATE_NUM_TYPE` if not given.
    ``callDirection`` values UNCONFIRMED (0 both, 1 A→others only, 2 others→A only).
    """

    orig_num: GlobalNumber
    private_num: GlobalNumber | None = None
    private_num_type: Text1to32 | None = None
    area_code: AreaCode | None = None
    area_match_mode: ZeroOne | None = None
    turn_flag: Literal["on", "off"] | None = None
    call_direction: CallDirection | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    pre_voice: PlayInfo | None = None
    max_duration: MaxDuration | None = None
    last_min_voice: Text0to128 | None = None
    private_sms: TrueFalse | None = None
    # What A sees when someone else calls X: "0" the X, "1" the real caller (spec §5.2.1).
    callee_num_display: ZeroOne | None = None
    user_data: UserData | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_private_num_type(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            names = {"privateNum", "private_num", "privateNumType", "private_num_type"}
            by_area = data.get("areaCode") or data.get("area_code")
            if by_area and not names & {key for key, value in data.items() if value is not None}:
                data = {**data, "privateNumType": AX_PRIVATE_NUM_TYPE}
        return data

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.area_match_mode is not None and self.area_code is None:
            raise ValueError("areaMatchMode needs areaCode")
        _check_recording(self.record_flag, self.record_hint_tone, binding=True)
        _check_last_minute(self.max_duration, self.last_min_voice, binding=True)
        return self


class AxBindResponse(ResultEnvelope):
    """Answer to an AX bind: the three fields are always present on success."""

    orig_num: Text1to32
    private_num: Text1to32
    subscription_id: SubscriptionId


class AxModifyRequest(Request):
    """Modify an AX binding: ``PUT /rest/provision/caas/privatenumber/v1.0``.

    Identified by ``subscriptionId`` or ``origNum`` + ``privateNum``. Fields other than
    ``privateSms`` are UNCONFIRMED.
    """

    subscription_id: SubscriptionId | None = None
    orig_num: GlobalNumber | None = None
    private_num: GlobalNumber | None = None
    private_sms: TrueFalse | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    pre_voice: PlayInfo | None = None
    max_duration: MaxDuration | None = None
    last_min_voice: Text0to128 | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_together(self, "orig_num", "private_num")
        _require_one(self, "subscription_id", "private_num")
        if AX_MODIFY_REQUIRES_PRIVATE_SMS and self.private_sms is None:
            raise ValueError("privateSms is required")
        _check_recording(self.record_flag, self.record_hint_tone, binding=False)
        _check_last_minute(self.max_duration, self.last_min_voice, binding=False)
        return self


class AxQueryParams(QueryParams):
    """Query AX bindings: ``GET /rest/provision/caas/privatenumber/v1.0``; exactly one parameter.

    ``origNum`` returns every X of that A.
    """

    subscription_id: SubscriptionId | None = None
    orig_num: GlobalNumber | None = None
    private_num: GlobalNumber | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of subscriptionId, origNum or privateNum is required")
        return self


class AxBindingInfo(Received):
    """privateNumInfo of an AX query answer. Member names UNCONFIRMED (spec §5.2.3, simulator's)."""

    subscription_id: SubscriptionId
    orig_num: Text1to32 | None = None
    private_num: Text1to32 | None = None
    callee_num: Text1to32 | None = None
    record_flag: RecordFlag | None = None
    private_sms: TrueFalse | None = None
    turn_flag: Literal["on", "off"] | None = None
    max_duration: MaxDuration | None = None
    subscribe_time: PlatformTime = None
    user_data: Text0to256 | None = None


class AxQueryResponse(ResultEnvelope):
    """Answer to an AX query."""

    private_num_list: list[AxBindingInfo] = Field(default_factory=list)


class AxUnbindParams(QueryParams):
    """Delete an AX binding: ``DELETE /rest/provision/caas/privatenumber/v1.0``.

    ``origNum`` may be sent; the platform ignores it.
    """

    subscription_id: SubscriptionId | None = None
    private_num: GlobalNumber | None = None
    orig_num: GlobalNumber | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_one(self, "subscription_id", "private_num")
        return self


class AxTemporaryCalleeRequest(Request):
    """Set whom A reaches by dialling X: ``PUT /rest/caas/privatenumber/calleenumber/v1.0``."""

    orig_num: GlobalNumber
    private_num: GlobalNumber
    callee_num: GlobalNumber
    duration: TemporaryCalleeDuration | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.callee_num == self.orig_num:
            raise ValueError("calleeNum must differ from origNum")
        return self


# ---------------------------------------------------------------------------------------------
# AXE (spec §5.3)
# ---------------------------------------------------------------------------------------------

_DISPLAY_NUM_MODE = Field(
    default=None,
    validation_alias=AliasChoices(*AXE_DISPLAY_NUM_MODE_NAMES, "display_num_mode"),
    serialization_alias=AXE_DISPLAY_NUM_MODE_NAMES[0],
)


class AxeBindRequest(Request):
    """Create an AXE binding: ``POST /rest/caas/extendnumber/v1.0``.

    ``extendNum`` absent: the platform allocates one. Expiry times count in ``timeUnit``
    (``"0"`` hours, ``"1"`` minutes).
    """

    bind_num: GlobalNumber
    virtual_num: GlobalNumber | None = None
    extend_num: ExtendNum | None = None
    area_code: AreaCode | None = None
    area_match_mode: ZeroOne | None = None
    display_num_mode: ZeroOne | None = _DISPLAY_NUM_MODE
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    callback_num: GlobalNumber | None = None
    callback_tone: Text1to128 | None = None
    time_unit: ZeroOne | None = None
    bind_expired_time: NonNegativeInt | None = None
    callback_expired_time: NonNegativeInt | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.area_match_mode is not None and self.area_code is None:
            raise ValueError("areaMatchMode needs areaCode")
        _check_recording(self.record_flag, self.record_hint_tone, binding=True)
        _check_callback(self.callback_num, self.callback_tone)
        return self


class AxeBindResponse(ResultEnvelope):
    """Answer to an AXE bind. The echoes are UNCONFIRMED."""

    subscription_id: SubscriptionId
    virtual_num: Text1to32 | None = None
    extend_num: Text1to4 | None = None
    bind_num: Text1to32 | None = None


class AxeModifyRequest(Request):
    """Modify an AXE binding: ``PUT /rest/caas/extendnumber/v1.0``; absent = unchanged.

    Identified by ``subscriptionId`` (or ``virtualNum`` + ``extendNum``, UNCONFIRMED).
    """

    subscription_id: SubscriptionId | None = None
    virtual_num: GlobalNumber | None = None
    extend_num: ExtendNum | None = None
    display_num_mode: ZeroOne | None = _DISPLAY_NUM_MODE
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    callback_num: GlobalNumber | None = None
    callback_tone: Text1to128 | None = None
    time_unit: ZeroOne | None = None
    bind_expired_time: NonNegativeInt | None = None
    callback_expired_time: NonNegativeInt | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_together(self, "virtual_num", "extend_num")
        _require_one(self, "subscription_id", "virtual_num")
        _check_recording(self.record_flag, self.record_hint_tone, binding=False)
        _check_callback(self.callback_num, self.callback_tone)
        return self


class AxeQueryParams(QueryParams):
    """Query one AXE binding (v1.0): ``GET /rest/caas/extendnumber/v1.0``."""

    subscription_id: SubscriptionId | None = None
    virtual_num: GlobalNumber | None = None
    extend_num: ExtendNum | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_together(self, "virtual_num", "extend_num")
        _require_one(self, "subscription_id", "virtual_num")
        return self


class AxeBindingInfo(Received):
    """One AXE binding, as the v1.0 query answers it (flat) and as the v2.0 list holds it."""

    subscription_id: SubscriptionId
    virtual_num: Text1to32 | None = None
    extend_num: Text1to4 | None = None
    bind_num: Text1to32 | None = None
    display_num_mode: ZeroOne | None = _DISPLAY_NUM_MODE
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    callback_tone: Text1to128 | None = None
    callback_num: Text1to32 | None = None
    time_unit: ZeroOne | None = None
    bind_expired_time: NonNegativeInt | None = None
    callback_expired_time: NonNegativeInt | None = None
    user_data: Text1to256 | None = None


class AxeQueryResponse(ResultEnvelope, AxeBindingInfo):
    """Answer to an AXE v1.0 query: the envelope and the binding's fields side by side."""


class AxeQueryV2Params(QueryParams):
    """Query AXE bindings with a cursor (v2.0): ``GET /rest/caas/extendnumber/v2.0``.

    Without ``subscriptionId`` / ``virtualNum`` + ``extendNum`` it lists the bindings page by page,
    starting from :data:`AXE_V2_FIRST_CURSOR`.
    """

    virtual_num: GlobalNumber | None = None
    extend_num: ExtendNum | None = None
    subscription_id: Text0to64 | None = None
    cursor: Annotated[str, StringConstraints(pattern=r"^[0-9]{13}_[0-9]{1,20}$")] | None = None
    limit: AxeV2Limit | None = None


class AxeQueryV2Response(ResultEnvelope):
    """Answer to an AXE v2.0 query. Names ``bindList`` / ``nextCursor`` UNCONFIRMED."""

    bind_list: list[AxeBindingInfo] = Field(default_factory=list)
    next_cursor: Pushed64 = None


class AxeUnbindParams(QueryParams):
    """Delete an AXE binding: ``DELETE /rest/caas/extendnumber/v1.0``."""

    subscription_id: SubscriptionId | None = None
    virtual_num: GlobalNumber | None = None
    extend_num: ExtendNum | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_together(self, "virtual_num", "extend_num")
        _require_one(self, "subscription_id", "virtual_num")
        return self


# ---------------------------------------------------------------------------------------------
# AXYB (spec §5.4). Every AXYB URI carries app_key; the client fills it in. The bind names no X
# and no Y: the platform chooses them in the city of ``areaCode`` (privatenumber.unconfirmed).
# ---------------------------------------------------------------------------------------------


class _AxybBindOptions(Request):
    """Fields either AXYB bind step may carry (spec §5.4.1); ``origNum`` is A, then B."""

    orig_num: GlobalNumber
    area_code: AreaCode | None = None
    area_match_mode: ZeroOne | None = None
    call_direction: CallDirection | None = None
    duration: AxybDuration | None = None
    yb_duration: AxybDuration | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    pre_voice_x: Text1to128 | None = None
    pre_voice_y: Text1to128 | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.area_match_mode is not None and self.area_code is None:
            raise ValueError("areaMatchMode needs areaCode")
        _check_recording(self.record_flag, self.record_hint_tone, binding=True)
        return self


class AxybBindAxRequest(_AxybBindOptions):
    """AXYB bind, first step (A–X): ``POST /rest/omp/xyrelationnumber/v1.0?app_key=…``.

    ``origNum`` is A; the platform picks X in ``areaCode`` and answers it as ``relationNumber``.
    """


class AxybBindYbRequest(_AxybBindOptions):
    """AXYB bind, second step (Y–B on the binding of the first): same URI.

    ``origNum`` is B here, ``subscriptionId`` the first step's id; the platform picks Y in
    ``areaCode`` and answers it as ``relationNumber``.
    """

    subscription_id: SubscriptionId


class AxybBindResponse(ResultEnvelope):
    """Answer to either AXYB bind step: both fields always present on success."""

    subscription_id: SubscriptionId
    relation_number: Text1to32


class AxybQueryParams(QueryParams):
    """Query AXYB bindings: ``GET /rest/omp/xyrelationnumber/v1.0``."""

    app_key: str = Field(alias="app_key", min_length=1, max_length=128)
    relation_num: GlobalNumber | None = None
    subscription_id: SubscriptionId | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_one(self, "relation_num", "subscription_id")
        return self


class AxybBindingInfo(Received):
    """xyRelationNumInfo of an AXYB query answer (spec §5.4.2)."""

    bind_id: SubscriptionId
    num_a: Text1to32 | None = None
    num_x: Text1to32 | None = None
    num_y: Text1to32 | None = None
    num_b: Text1to32 | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text1to128 | None = None
    subscribe_time: PlatformTime = None
    call_direction: CallDirection | None = None
    # Documented as String(1-32) holding seconds, unlike the Integer of the bind request.
    duration: Text1to32 | None = None
    yb_duration: Text1to32 | None = None
    pre_voice_x: Text1to128 | None = None
    pre_voice_y: Text1to128 | None = None
    user_data: Text1to256 | None = None


class AxybQueryResponse(ResultEnvelope):
    """Answer to an AXYB query."""

    xy_relation_num_list: list[AxybBindingInfo] = Field(default_factory=list)


class AxybUnbindParams(QueryParams):
    """Delete an AXYB binding: ``DELETE /rest/omp/xyrelationnumber/v1.0``."""

    app_key: str = Field(alias="app_key", min_length=1, max_length=128)
    subscription_id: SubscriptionId | None = None
    relation_num: GlobalNumber | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _require_one(self, "subscription_id", "relation_num")
        return self


# ---------------------------------------------------------------------------------------------
# Stop call and recordings (spec §5.4.4, §5.5)
# ---------------------------------------------------------------------------------------------


class StopCallRequest(Request):
    """Hang up a call in progress: ``POST /rest/httpsessions/callStop/v2.0``.

    The body field is ``sessionid``, lower-case (Huawei's documented example, spec §5.4.4).
    """

    signal: Literal["call_stop"] = STOP_CALL_SIGNAL
    session_id: Text1to256 = Field(alias=STOP_CALL_SESSION_FIELD)


class AxeBindingCountParams(QueryParams):
    """How many AXE bindings X numbers carry: ``GET /rest/caas/virtualnumber/v1.0`` (spec §5.4.5).

    With ``number`` it counts that X; without, it lists the app's numbers page by page from
    ``cursor`` :data:`AXE_COUNT_FIRST_CURSOR` (``cursor`` and ``limit`` are ignored with a number).
    """

    number: GlobalNumber | None = None
    cursor: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = None
    limit: (
        Annotated[int, Field(ge=AXE_COUNT_LIMIT_RANGE[0], le=AXE_COUNT_LIMIT_RANGE[1])] | None
    ) = None


class AxeBindingCount(Received):
    """One X and the number of AXE bindings on it. Names UNCONFIRMED (privatenumber.unconfirmed)."""

    number: Text1to32 = Field(alias=AXE_COUNT_NUMBER_FIELD)
    bind_count: NonNegativeInt = Field(alias=AXE_COUNT_COUNT_FIELD)


class AxeBindingCountResponse(ResultEnvelope):
    """Answer to QueryAXEBindingCount. The list is required: a wrong guess at its name must fail
    as a bad answer, not read as numbers without bindings."""

    number_list: list[AxeBindingCount] = Field(alias=AXE_COUNT_LIST_FIELD)
    next_cursor: Pushed64 = Field(default=None, alias=AXE_COUNT_CURSOR_FIELD)


class RecordingUrlParams(QueryParams):
    """Ask for a recording's download address: ``GET /rest/provision/voice/record/v1.0``."""

    file_name: Text1to128
    record_domain: Text1to128


# ---------------------------------------------------------------------------------------------
# Pushes (spec §6)
# ---------------------------------------------------------------------------------------------

CallEventType = Literal["callin", "callout", "alerting", "answer", "disconnect"]
CALL_EVENT_TYPES: tuple[str, ...] = get_args(CallEventType)


class CallStatusInfo(Received):
    """Details of one call event. ``caller``/``called`` per event: see spec §6.1 notes."""

    timestamp: RequiredPlatformTime
    session_id: Text1to256
    caller: Pushed32 = None
    called: Pushed32 = None
    # AXE callin carries none; empty when no binding matched.
    subscription_id: Pushed64 = None
    state_code: NonNegativeInt | None = None
    state_desc: Pushed128 = None
    user_data: Pushed256 = None
    # X mode callin only; absent means Notify (UNCONFIRMED default).
    notify_mode: Literal["Notify", "Block"] | None = None
    # AXE: digits the caller entered (UNCONFIRMED which events carry it).
    digit_info: Pushed32 = None


class CallEventPush(Received):
    """A call event: ``callin`` → ``callout`` → ``alerting`` → ``answer`` → ``disconnect``."""

    event_type: CallEventType
    status_info: CallStatusInfo

    @property
    def is_block(self) -> bool:
        """An X-mode callin that waits for a :class:`CallinBlockAnswer`."""
        return self.event_type == "callin" and self.status_info.notify_mode == "Block"


class FeeInfo(Received):
    """One CDR (话单) (spec §6.2). Times are aware UTC datetimes; ``""`` values become None."""

    direction: CallDirection
    sp_id: Text1to32
    app_key: Text1to128
    icid: Pushed64 = None
    bind_num: Pushed32 = None
    session_id: Text1to256
    subscription_id: Pushed64 = None
    caller_num: Text1to32
    callee_num: Text1to32
    fwd_display_num: Pushed32 = None
    fwd_dst_num: Pushed32 = None
    call_in_time: PlatformTime = None
    fwd_start_time: PlatformTime = None
    fwd_alerting_time: PlatformTime = None
    fwd_answer_time: PlatformTime = None
    call_end_time: PlatformTime = None
    fwd_unasw_rsn: NonNegativeInt | None = None
    fail_time: PlatformTime = None
    ul_fail_reason: NonNegativeInt | None = None
    sip_status_code: NonNegativeInt | None = None
    call_out_unasw_rsn: NonNegativeInt | None = None
    record_flag: ZeroOrOne | None = None
    record_start_time: PlatformTime = None
    record_object_name: Pushed128 = None
    record_bucket_name: Pushed128 = None
    record_domain: Pushed256 = None
    record_file_download_url: PushedUrl = None
    tts_play_times: NonNegativeInt | None = None
    tts_trans_duration: NonNegativeInt | None = None
    mpty_id: Pushed128 = None
    service_type: Pushed32 = None
    host_name: Pushed128 = None
    user_data: Pushed256 = None
    extend_number: Pushed4 = Field(
        default=None,
        validation_alias=AliasChoices(*FEE_EXTEND_NUMBER_NAMES, "extend_number"),
        serialization_alias=FEE_EXTEND_NUMBER_NAMES[0],
    )

    @property
    def recorded(self) -> bool:
        """Whether the call was recorded (a file may still be missing for calls under 3 s)."""
        return self.record_flag == 1


class FeePush(Received):
    """A CDR push: 1 to 50 CDRs."""

    event_type: Literal["fee"]
    fee_lst: Annotated[list[FeeInfo], Field(min_length=1, max_length=50)]


class NumInfo(Received):
    """One X number's new status (spec §6.3)."""

    number: Text1to32
    status: Literal["5", "9", "10", "11"]
    cause: Literal["1", "2", "3", "5", "6", "7", "8", "9"] | None = None


class NumStatusPush(Received):
    """An X-number status push: 1 to 100 numbers."""

    event_type: Literal["numStatus"]
    num_info: Annotated[list[NumInfo], Field(min_length=1, max_length=100)]


class ExtPara(Received):
    """One ``{"key": …, "value": …}`` of ``extInfo.extParas``."""

    key: Text1to64
    value: Annotated[str, StringConstraints(max_length=256)]


class SmsExtInfo(Received):
    """``extInfo`` of an SMS notice: ``extParas`` holding ``splitNum`` and ``direction`` (§6.4)."""

    ext_paras: list[ExtPara] = Field(default_factory=list)

    def get(self, key: str) -> str | None:
        return next((para.value for para in self.ext_paras if para.key == key), None)


class SmsEvent(Received):
    """One SMS notice (spec §6.4). Required flags of calling/virtualNumber/event are UNCONFIRMED.

    ``sendResult`` is required (an Integer; its value table is UNCONFIRMED, so it is kept as it
    comes); ``extInfo.extParas`` carries ``splitNum`` and ``direction`` as strings.
    """

    sms_identifier: Text1to64
    notification_mode: Literal["Notify", "Block"]
    calling: Text1to32
    called: Pushed32 = None
    virtual_number: Text1to32
    # Kept verbatim: the documented example has a trailing space ("Text SMS ").
    event: Text1to64
    time_stamp: SmsTime
    subscription_id: Pushed64 = None
    sms_content: str | None = None
    send_result: NonNegativeInt
    ext_info: SmsExtInfo | None = None

    @property
    def split_num(self) -> str | None:
        """``splitNum`` of ``extInfo.extParas``: the SMS's number of parts (None when absent)."""
        return self.ext_info.get(SMS_EXT_SPLIT_NUM) if self.ext_info else None

    @property
    def direction(self) -> str | None:
        """``direction`` of ``extInfo.extParas`` ("2": abnormal, direction unknown)."""
        return self.ext_info.get(SMS_EXT_DIRECTION) if self.ext_info else None


class SmsPush(Received):
    """An SMS notice, Notify or Block (the latter waits for an :class:`SmsBlockAnswer`)."""

    app_key: Text1to128
    sms_event: SmsEvent

    @property
    def is_block(self) -> bool:
        return self.sms_event.notification_mode == "Block"


Push = CallEventPush | FeePush | NumStatusPush | SmsPush

# ---------------------------------------------------------------------------------------------
# Block answers (customer → platform, as the body of the 200 to a Block push)
# ---------------------------------------------------------------------------------------------


class ConnectInfo(Request):
    """ApiConnectInfo: whom to connect an X-mode call to. Fields after waitVoice UNCONFIRMED."""

    display_callee_num: (
        Annotated[GlobalNumber, StringConstraints(min_length=4, max_length=31)] | None
    ) = None
    callee_num: Annotated[GlobalNumber, StringConstraints(min_length=4, max_length=31)]
    max_duration: MaxDuration | None = None
    wait_voice: Text0to128 | None = None
    record_flag: RecordFlag | None = None
    record_hint_tone: Text0to128 | None = None
    last_min_voice: Text0to128 | None = None
    user_data: UserData | None = None


class CloseInfo(Request):
    """ApiCloseInfo: how to end an X-mode call. ``closeVoice`` UNCONFIRMED (simulator's)."""

    close_voice: Text0to128 | None = None


class CallinBlockAnswer(Request):
    """The answer to an X-mode Block callin: connect to a callee, or close the call."""

    operation: Literal["connect", "close"]
    connect_info: ConnectInfo | None = None
    close_info: CloseInfo | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.operation == "connect" and self.connect_info is None:
            raise ValueError("connectInfo is required with operation connect")
        if self.operation == "close" and self.connect_info is not None:
            raise ValueError("connectInfo is not allowed with operation close")
        if self.operation == "connect" and self.close_info is not None:
            raise ValueError("closeInfo is not allowed with operation connect")
        return self


class MessageInfo(Request):
    """Where to forward a Block SMS: the real receiver, from the notice's real sender."""

    called: Annotated[GlobalNumber, StringConstraints(min_length=1, max_length=64)]
    calling: Annotated[GlobalNumber, StringConstraints(min_length=1, max_length=64)]


class SmsAction(Request):
    """SMSActionType: forward (``vNumberRoute``) or drop (``DiscardMessage``) one SMS."""

    operation: Literal["vNumberRoute", "DiscardMessage"]
    message: MessageInfo | None = None
    ext_paras: list[Any] | None = None
    user_data: UserData | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.operation == "vNumberRoute" and self.message is None:
            raise ValueError("message is required with operation vNumberRoute")
        if self.operation == "DiscardMessage" and self.message is not None:
            raise ValueError("message is only allowed with operation vNumberRoute")
        return self


class SmsBlockAnswer(Request):
    """The answer to a Block SMS notice. Always sent wrapped in ``actions``.

    Parsing also accepts one unwrapped action, as Huawei's Node sample answers (UNCONFIRMED which
    form the real platform requires; spec §6.4).
    """

    actions: Annotated[list[SmsAction], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _accept_unwrapped(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "actions" not in data and "operation" in data:
            return {"actions": [data]}
        return data


# ---------------------------------------------------------------------------------------------
# Parsing raw bodies
# ---------------------------------------------------------------------------------------------


class SchemaError(ValueError):
    """A body that does not fit its model; ``field`` is a dotted path (``feeLst.3.callerNum``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


M = TypeVar("M", bound=BaseModel)


def _error_from(error: ValidationError) -> SchemaError:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    problem = first["msg"].removeprefix("Value error, ")
    return SchemaError(field, problem)


def _load(body: bytes | str) -> Any:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SchemaError("body", f"not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise SchemaError("body", f"not JSON ({error.msg} at line {error.lineno})") from None


def parse_model(model: type[M], body: bytes | str | Mapping[str, Any]) -> M:
    """Validate a raw body (or already-decoded JSON object) against ``model``."""
    data = body if isinstance(body, Mapping) else _load(body)
    if not isinstance(data, Mapping):
        raise SchemaError("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _error_from(error) from None


_PUSH_MODELS: dict[str, type[BaseModel]] = {
    "fee": FeePush,
    "numStatus": NumStatusPush,
    **dict.fromkeys(CALL_EVENT_TYPES, CallEventPush),
}


def push_model_for(data: Mapping[str, Any]) -> type[Push]:
    """The model a decoded push belongs to, by its ``eventType`` (or ``smsEvent`` for SMS)."""
    event_type = data.get("eventType")
    if event_type is None:
        # SMS notices have no eventType; appKey alone still marks one whose smsEvent is missing.
        if "smsEvent" in data or "appKey" in data:
            return SmsPush
        raise SchemaError("eventType", "Field required")
    model = _PUSH_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise SchemaError("eventType", f"unknown event type {event_type!r}")
    return model  # type: ignore[return-value]


def parse_push(body: bytes | str) -> CallEventPush | FeePush | NumStatusPush | SmsPush:
    """Parse a raw push body into its model; :class:`SchemaError` names the first bad field."""
    data = _load(body)
    if not isinstance(data, Mapping):
        raise SchemaError("body", "must be a JSON object")
    return parse_model(push_model_for(data), data)


def parse_callin_block_answer(body: bytes | str) -> CallinBlockAnswer:
    """Parse the customer's answer to an X-mode Block callin."""
    return parse_model(CallinBlockAnswer, body)


def parse_sms_block_answer(body: bytes | str) -> SmsBlockAnswer:
    """Parse the customer's answer to a Block SMS notice (wrapped or unwrapped)."""
    return parse_model(SmsBlockAnswer, body)
