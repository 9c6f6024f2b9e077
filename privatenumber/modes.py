"""The platform's modes in one table (spec §3–§5): what each mode has and what it allows.

One :class:`Mode` per mode of the platform (AXB, AX, AXE, AXYB and X): the customer-to-platform
interfaces it has (method, URI, request and response models, the parameters the platform's table
lists), the capacity rules of spec §4, the lifetimes a bind sets (field, unit, range) and so
whether the platform ends its bindings itself, the ``serviceType`` of its CDRs, whether it carries
private SMS, and how a call that finds no binding ends. The client sends through the interfaces of
this table and the simulator serves them from it; neither switches on a mode's name.

What belongs here: facts of the platform, the same for every customer of it. What does not: the
console's own choices (its form fields, who ends an AX binding, labels and help texts: the console's
mode table builds those on this one), and how the simulator stores and routes (``simulator/modes``).
A fact the documentation leaves open is decided in :mod:`privatenumber.unconfirmed` and only read
here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from privatenumber import unconfirmed

if TYPE_CHECKING:
    from pydantic import BaseModel

    from privatenumber.schemas import WireModel

# URIs of the interfaces (spec §5).
AXB_URI = "/rest/caas/relationnumber/partners/v1.0"
AX_URI = "/rest/provision/caas/privatenumber/v1.0"
AX_TEMPORARY_CALLEE_URI = "/rest/caas/privatenumber/calleenumber/v1.0"
AXE_URI = "/rest/caas/extendnumber/v1.0"
AXE_V2_URI = "/rest/caas/extendnumber/v2.0"
AXE_COUNT_URI = unconfirmed.AXE_COUNT_URI
AXYB_URI = "/rest/omp/xyrelationnumber/v1.0"
STOP_CALL_URI = "/rest/httpsessions/callStop/v2.0"
RECORDING_URI = "/rest/provision/voice/record/v1.0"

# The longest lifetime a bind may set: 90 days (spec §5.1.1, §5.4.1).
MAX_LIFETIME_SECONDS = 7776000
# AXE ``timeUnit`` (spec §5.3.1): "0" hours, "1" minutes.
TIME_UNIT_SECONDS: Mapping[str, int] = {"0": 3600, "1": 60}


def _schemas() -> ModuleType:
    """:mod:`privatenumber.schemas`, imported when a model is first asked for.

    Not with the table: the simulator reads the table and never a model, and so never loads
    pydantic (a tenth of a second and 11 MiB less for every simulator process).
    """
    from privatenumber import schemas

    return schemas


@dataclass(frozen=True)
class Interface:
    """One customer-to-platform interface (spec §5): where it is, what it carries, what it answers.

    ``name`` is the client's method and the name of the interface in the call log (``axb_bind``);
    ``verb`` names it within its mode (``bind``, ``query_v2``, ``set_temporary_callee``) and
    ``label`` is the short dotted name the simulator counts and injects faults under
    (``axb.bind``). :attr:`request` is the model of the body (POST, PUT) or of the URL query (GET,
    DELETE); :attr:`response` the model of a success, or None where success is a 301 whose
    ``Location`` is the answer (§5.5); the table names them, as classes of
    :mod:`privatenumber.schemas`. ``parameters`` are every name the platform's table lists (URL
    and body), a superset of what the client's model sends: the simulator refuses any other.
    """

    name: str
    verb: str
    label: str
    method: str
    uri: str
    request_model: str
    response_model: str | None
    parameters: frozenset[str]
    # AXYB: every URI carries the application's key as the URL parameter ``app_key`` (§5.4).
    app_key_in_query: bool = False

    @property
    def request(self) -> type[WireModel]:
        """The model of the request's body or URL query."""
        model: type[WireModel] = getattr(_schemas(), self.request_model)
        return model

    @property
    def response(self) -> type[BaseModel] | None:
        """The model of a success (None: a 301 whose ``Location`` is the answer)."""
        if self.response_model is None:
            return None
        model: type[BaseModel] = getattr(_schemas(), self.response_model)
        return model

    @property
    def has_body(self) -> bool:
        """Whether the request is a JSON body (POST, PUT) rather than a URL query."""
        return self.method in ("POST", "PUT")


@dataclass(frozen=True)
class Capacity:
    """How many bindings one number may hold in a mode (spec §4). None: no such limit."""

    # AXB: A–B pairs on one X, and a user number at most once per X (AXB+BXC is refused).
    pairs_per_x: int | None = None
    user_once_per_x: bool = False
    # AX, AXYB: one X binds one A at a time, one A holds at most five X.
    a_per_x: int | None = None
    x_per_a: int | None = None
    # AXYB: the relations one Y carries (never twice with the same AX).
    relations_per_y: int | None = None
    # AXE: callers dial X then an extension of a length fixed per application (1–4 digits).
    extension_digits: tuple[int, int] | None = None
    recommended_a_per_x: int | None = None

    @staticmethod
    def extensions_per_x(length: int) -> int:
        """The extensions one X offers at this length: 9, 99, 999 or 9999 (0…0 is no extension)."""
        return 10**length - 1


@dataclass(frozen=True)
class Lifetime:
    """A lifetime a bind request sets (spec §4, §5): its field, its unit and its range.

    0 or absent means "never". ``unit_field`` names the request field that gives the unit (AXE's
    ``timeUnit``); without one the value is in seconds. ``shortest`` is the smallest value other
    than 0 the platform takes, ``longest`` the largest (both in the lifetime's own unit).
    """

    field: str
    ends: str  # what ends when it is up: "binding", "YB relation", "callback record"
    longest: int = MAX_LIFETIME_SECONDS
    shortest: int = 1
    unit_field: str | None = None
    default_unit: str | None = None

    def seconds(self, value: int | None, unit: str | None = None) -> int | None:
        """The lifetime in seconds (None for 0 or absent: never ends)."""
        if not value:
            return None
        if self.unit_field is None:
            return value
        return value * TIME_UNIT_SECONDS[unit or self.default_unit or "0"]


@dataclass(frozen=True)
class Mode:
    """One mode of the platform (spec §3–§5): its interfaces and its rules.

    ``lifetimes`` lists what a bind may limit in time, the binding's own lifetime first; a mode
    without one keeps its bindings until they are unbound (AX). ``unbound_call`` is the hang-up
    cause (§8) and release point (§9) of a call to an X that carries no binding for it.
    ``asks_customer``: the platform keeps no bindings and asks the customer's server whom to
    connect on every call and SMS (X mode, Block callin).
    """

    name: str
    interfaces: tuple[Interface, ...]
    capacity: Capacity
    lifetimes: tuple[Lifetime, ...]
    service_type: str  # serviceType of its CDRs (§4, §6.2)
    sms: bool  # private SMS through X (§3)
    unbound_call: tuple[int, int]
    asks_customer: bool = False

    def interface(self, verb: str) -> Interface:
        """The mode's interface of this verb (``bind``, ``unbind`` …); KeyError if it has none."""
        for interface in self.interfaces:
            if interface.verb == verb:
                return interface
        raise KeyError(f"{self.name} mode has no {verb!r} interface")

    def has(self, verb: str) -> bool:
        """Whether the mode has an interface of this verb."""
        return any(interface.verb == verb for interface in self.interfaces)

    @property
    def lifetime(self) -> Lifetime | None:
        """The binding's own lifetime, or None when its bindings live until unbound."""
        return self.lifetimes[0] if self.lifetimes else None

    def lifetime_of(self, field_name: str) -> Lifetime:
        """The lifetime a bind sets in this field (``ybDuration``, ``callbackExpiredTime`` …)."""
        for lifetime in self.lifetimes:
            if lifetime.field == field_name:
                return lifetime
        raise KeyError(f"{self.name} mode has no lifetime {field_name!r}")

    @property
    def platform_expires(self) -> bool:
        """Whether the platform itself unbinds a binding whose lifetime is up (spec §4)."""
        return self.lifetime is not None

    @property
    def extensions(self) -> bool:
        """Whether callers dial an extension after X (AXE)."""
        return self.capacity.extension_digits is not None


def _interface(
    name: str,
    label: str,
    method: str,
    uri: str,
    request_model: str,
    response_model: str | None,
    parameters: Iterable[str],
    *,
    verb: str | None = None,
    app_key_in_query: bool = False,
) -> Interface:
    """An interface; its verb is its name without the mode (``axb_bind``: ``bind``) unless given."""
    return Interface(
        name=name,
        verb=verb or name.partition("_")[2],
        label=label,
        method=method,
        uri=uri,
        request_model=request_model,
        response_model=response_model,
        parameters=frozenset(parameters),
        app_key_in_query=app_key_in_query,
    )


# ---------------------------------------------------------------------------------------------
# The interfaces (spec §5), with the parameters of the platform's tables
# ---------------------------------------------------------------------------------------------

_AXB_SETTINGS = (
    "callDirection",
    "duration",
    "recordFlag",
    "recordHintTone",
    "maxDuration",
    "lastMinVoice",
    "privateSms",
    "preVoice",
    "userData",
)
AXB_BIND = _interface(
    "axb_bind",
    "axb.bind",
    "POST",
    AXB_URI,
    "AxbBindRequest",
    "AxbBindResponse",
    ("relationNum", "areaCode", "areaMatchMode", "callerNum", "calleeNum", *_AXB_SETTINGS),
)
AXB_MODIFY = _interface(
    "axb_modify",
    "axb.modify",
    "PUT",
    AXB_URI,
    "AxbModifyRequest",
    "ResultEnvelope",
    ("subscriptionId", "callerNum", "calleeNum", *_AXB_SETTINGS),
)
AXB_QUERY = _interface(
    "axb_query",
    "axb.query",
    "GET",
    AXB_URI,
    "AxbQueryParams",
    "AxbQueryResponse",
    ("relationNum", "subscriptionId", "callerNum", "calleeNum", "pageIndex", "pageSize"),
)
AXB_UNBIND = _interface(
    "axb_unbind",
    "axb.unbind",
    "DELETE",
    AXB_URI,
    "AxbUnbindParams",
    "ResultEnvelope",
    ("subscriptionId", "relationNum"),
)

_AX_SETTINGS = (
    "turnFlag",
    "callDirection",
    "recordFlag",
    "recordHintTone",
    "preVoice",
    "callerHintTone",  # the waiting tones may also come at the top level (placement UNCONFIRMED)
    "calleeHintTone",
    "maxDuration",
    "lastMinVoice",
    "privateSms",
    "calleeNumDisplay",
    "userData",
)
AX_BIND = _interface(
    "ax_bind",
    "ax.bind",
    "POST",
    AX_URI,
    "AxBindRequest",
    "AxBindResponse",
    ("origNum", "privateNum", "privateNumType", "areaCode", "areaMatchMode", *_AX_SETTINGS),
)
AX_MODIFY = _interface(
    "ax_modify",
    "ax.modify",
    "PUT",
    AX_URI,
    "AxModifyRequest",
    "ResultEnvelope",
    ("subscriptionId", "origNum", "privateNum", *_AX_SETTINGS),
)
AX_QUERY = _interface(
    "ax_query",
    "ax.query",
    "GET",
    AX_URI,
    "AxQueryParams",
    "AxQueryResponse",
    ("subscriptionId", "origNum", "privateNum"),
)
AX_UNBIND = _interface(
    "ax_unbind",
    "ax.unbind",
    "DELETE",
    AX_URI,
    "AxUnbindParams",
    "ResultEnvelope",
    ("subscriptionId", "privateNum", "origNum"),
)
AX_SET_TEMPORARY_CALLEE = _interface(
    "ax_set_temporary_callee",
    "ax.callee",
    "PUT",
    AX_TEMPORARY_CALLEE_URI,
    "AxTemporaryCalleeRequest",
    "ResultEnvelope",
    ("origNum", "privateNum", "calleeNum", "duration", "userData"),
)

_AXE_SETTINGS = (
    *unconfirmed.AXE_DISPLAY_NUM_MODE_NAMES,
    "recordFlag",
    "recordHintTone",
    "callbackNum",
    "callbackTone",
    "timeUnit",
    "bindExpiredTime",
    "callbackExpiredTime",
    "userData",
)
_AXE_ONE = ("subscriptionId", "virtualNum", "extendNum")
AXE_BIND = _interface(
    "axe_bind",
    "axe.bind",
    "POST",
    AXE_URI,
    "AxeBindRequest",
    "AxeBindResponse",
    ("bindNum", "virtualNum", "extendNum", "areaCode", "areaMatchMode", *_AXE_SETTINGS),
)
AXE_MODIFY = _interface(
    "axe_modify",
    "axe.modify",
    "PUT",
    AXE_URI,
    "AxeModifyRequest",
    "ResultEnvelope",
    (*_AXE_ONE, *_AXE_SETTINGS),
)
AXE_QUERY = _interface(
    "axe_query",
    "axe.query",
    "GET",
    AXE_URI,
    "AxeQueryParams",
    "AxeQueryResponse",
    _AXE_ONE,
)
AXE_QUERY_V2 = _interface(
    "axe_query_v2",
    "axe.query2",
    "GET",
    AXE_V2_URI,
    "AxeQueryV2Params",
    "AxeQueryV2Response",
    (*_AXE_ONE, "cursor", "limit"),
)
AXE_BINDING_COUNT = _interface(
    "axe_binding_count",
    "axe.count",
    "GET",
    AXE_COUNT_URI,
    "AxeBindingCountParams",
    "AxeBindingCountResponse",
    ("number", "cursor", "limit"),
)
AXE_UNBIND = _interface(
    "axe_unbind",
    "axe.unbind",
    "DELETE",
    AXE_URI,
    "AxeUnbindParams",
    "ResultEnvelope",
    _AXE_ONE,
)

# AXYB binds in two steps at one URI: A–X, then Y–B with the first answer's subscriptionId.
AXYB_BIND = _interface(
    "axyb_bind",
    "axyb.bind",
    "POST",
    AXYB_URI,
    "AxybBindAxRequest",
    "AxybBindResponse",
    (*unconfirmed.AXYB_AX_STEP_FIELDS, "app_key"),
    app_key_in_query=True,
)
AXYB_BIND_YB = _interface(
    "axyb_bind",
    "axyb.bind",
    "POST",
    AXYB_URI,
    "AxybBindYbRequest",
    "AxybBindResponse",
    (*unconfirmed.AXYB_YB_STEP_FIELDS, "app_key"),
    verb="bind_yb",
    app_key_in_query=True,
)
AXYB_QUERY = _interface(
    "axyb_query",
    "axyb.query",
    "GET",
    AXYB_URI,
    "AxybQueryParams",
    "AxybQueryResponse",
    ("app_key", "relationNum", "subscriptionId"),
    app_key_in_query=True,
)
AXYB_UNBIND = _interface(
    "axyb_unbind",
    "axyb.unbind",
    "DELETE",
    AXYB_URI,
    "AxybUnbindParams",
    "ResultEnvelope",
    # yNum / bNum: unbind one Y-B relation only (privatenumber_axyb_0018, table 3).
    ("app_key", "subscriptionId", "relationNum", "yNum", "bNum"),
    app_key_in_query=True,
)

# Documented under AXYB; which modes have it is an UNCONFIRMED choice (STOP_CALL_MODES).
STOP_CALL = _interface(
    "stop_call",
    "call.stop",
    "POST",
    STOP_CALL_URI,
    "StopCallRequest",
    "ResultEnvelope",
    ("signal", unconfirmed.STOP_CALL_SESSION_FIELD),
    verb="stop_call",
)
# Every mode's recordings (§5.5): success is a 301 whose Location is the download address.
RECORDING_DOWNLOAD_URL = _interface(
    "recording_download_url",
    "record.url",
    "GET",
    RECORDING_URI,
    "RecordingUrlParams",
    None,
    ("fileName", "recordDomain"),
    verb="recording_download_url",
)


def _mode(name: str, interfaces: tuple[Interface, ...], **facts: Any) -> Mode:
    """A mode with its own interfaces and those of several modes: stop-call, recordings."""
    stop = (STOP_CALL,) if name in unconfirmed.STOP_CALL_MODES else ()
    return Mode(name=name, interfaces=(*interfaces, *stop, RECORDING_DOWNLOAD_URL), **facts)


# ---------------------------------------------------------------------------------------------
# The modes (spec §4)
# ---------------------------------------------------------------------------------------------

AXB = _mode(
    "AXB",
    (AXB_BIND, AXB_MODIFY, AXB_QUERY, AXB_UNBIND),
    capacity=Capacity(pairs_per_x=5000, user_once_per_x=True),
    lifetimes=(Lifetime("duration", "binding"),),
    service_type="004",
    sms=True,
    unbound_call=(8014, 8014),
)
AX = _mode(
    "AX",
    (AX_BIND, AX_MODIFY, AX_QUERY, AX_UNBIND, AX_SET_TEMPORARY_CALLEE),
    capacity=Capacity(a_per_x=1, x_per_a=5),
    lifetimes=(),  # permanent until unbound
    service_type="003",  # UNCONFIRMED: only seen in examples
    sms=True,
    unbound_call=(8018, 7104),
)
AXE = _mode(
    "AXE",
    (AXE_BIND, AXE_MODIFY, AXE_QUERY, AXE_QUERY_V2, AXE_BINDING_COUNT, AXE_UNBIND),
    capacity=Capacity(extension_digits=(1, 4), recommended_a_per_x=200),
    # The spec gives these no range: the AXB maximum is taken, counted in timeUnit.
    lifetimes=(
        Lifetime(
            "bindExpiredTime",
            "binding",
            unit_field="timeUnit",
            default_unit=unconfirmed.AXE_DEFAULT_TIME_UNIT,
        ),
        Lifetime(
            "callbackExpiredTime",
            "callback record",
            unit_field="timeUnit",
            default_unit=unconfirmed.AXE_DEFAULT_TIME_UNIT,
        ),
    ),
    service_type="005",
    sms=False,
    unbound_call=(8022, 8022),
)
AXYB = _mode(
    "AXYB",
    (AXYB_BIND, AXYB_BIND_YB, AXYB_QUERY, AXYB_UNBIND),
    capacity=Capacity(a_per_x=1, x_per_a=5, relations_per_y=1000),
    lifetimes=(
        Lifetime("duration", "binding", shortest=60),
        Lifetime("ybDuration", "YB relation", shortest=60),
    ),
    service_type="007",
    sms=False,
    unbound_call=(8030, 8020),
)
X = _mode(
    "X",
    (),
    capacity=Capacity(),
    lifetimes=(),
    service_type="004",  # shared with AXB (spec §4)
    sms=True,
    unbound_call=(8014, 8014),
    asks_customer=True,
)

# Every mode, in the spec's order.
MODES: Mapping[str, Mode] = {mode.name: mode for mode in (AXB, AX, AXE, AXYB, X)}


def mode(name: str) -> Mode:
    """The mode of this name; KeyError naming the known ones for any other."""
    try:
        return MODES[name]
    except KeyError:
        raise KeyError(f"no mode {name!r}: one of {', '.join(MODES)}") from None
