"""The console's mode table: how the console works each binding mode (AXB, AX, AXE, AXYB).

Built on the platform's table (:mod:`privatenumber.modes`: the interfaces of each mode, the
capacity rules of spec §4, the lifetimes a bind sets and so who ends a binding whose time is up).
Per mode this adds what is the console's own choice:

* the **fields** of a binding of the mode, in the order of its create form (the same names are the
  columns of a bulk CSV; lifetimes are typed in minutes, as ``lifetime`` / ``yb_lifetime``), and
  the labels, help texts and call directions that read differently in the mode;
* the fields the platform can **modify** (spec §5.x.2) and those only the console keeps;
* **how numbers are chosen** (read by :mod:`bindings.pool` and the create service): X exclusive to
  one A, or shared up to a capacity; the real numbers an X must not carry yet
  (:class:`Avoid`); an extension; a Y; whether the console names X or only its city;
* its :class:`~bindings.wire.Wire` (what it sends and how it reads the answers).

Services, the pool, forms, bulk uploads, expiry and the pages read this table; none of them
switches on a mode's name. Adding a mode is an entry here, its ``Wire`` module, and the platform's
entry in :mod:`privatenumber.modes` (with its models in :mod:`privatenumber.schemas`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bindings.choices import AX_CALL_DIRECTIONS, CallDirection
from bindings.wire import Wire
from bindings.wire.ax import AxWire
from bindings.wire.axb import AxbWire
from bindings.wire.axe import AxeWire
from bindings.wire.axyb import AxybWire
from privatenumber import modes as platform_modes

# Lifetimes are typed in minutes under their own names on the forms (and bulk CSVs); the model
# and the services keep seconds under the model's names.
FORM_NAMES = {"duration": "lifetime", "yb_duration": "yb_lifetime"}
MODEL_NAMES = {form: model for model, form in FORM_NAMES.items()}
# Kept only by the console in every mode: changed at once, nothing is sent (the cost tag is the
# console's own label, for billing's cost allocation).
LOCAL_FIELDS = ("order_ref", "cost_tag")


@dataclass(frozen=True)
class Avoid:
    """Real numbers a chosen X must not carry yet (spec §4), and the refusal when every usable X
    does: ``a_or_b`` checks A and B (a user number once per X), else A only."""

    a_or_b: bool
    rule: str
    refusal: Promise  # with %(where)s


@dataclass(frozen=True)
class BindingMode:
    """How the console works one binding mode; ``platform`` is the platform's entry."""

    name: str
    platform: platform_modes.Mode
    wire: Wire
    fields: tuple[str, ...]
    modifiable: tuple[str, ...] = ()
    labels: Mapping[str, Promise] = field(default_factory=dict)
    help_texts: Mapping[str, Promise] = field(default_factory=dict)
    call_directions: tuple = tuple(CallDirection.choices)
    avoid: Avoid | None = None
    # The bind names only X's city and the platform answers the X it chose (AXYB, spec §5.4.1).
    platform_chooses_x: bool = False

    # --- what the platform's table says ---------------------------------------------------------

    def interface(self, verb: str) -> platform_modes.Interface:
        """The platform's interface of this verb (``bind``, ``modify``, ``unbind`` …)."""
        return self.platform.interface(verb)

    @property
    def platform_expires(self) -> bool:
        """The platform ends a binding whose lifetime is up (the console only mirrors it); else
        the console unbinds it itself when the lifetime typed on the form is up (AX)."""
        return self.platform.platform_expires

    @property
    def expired_by(self) -> str:
        return "platform" if self.platform_expires else "console"

    @property
    def two_steps(self) -> bool:
        """The bind is sent in two steps, A–X then Y–B (AXYB)."""
        return self.platform.has("bind_yb")

    @property
    def counts_before_bind(self) -> bool:
        """The platform is asked how many bindings X carries before a bind (AXE)."""
        return self.platform.has("binding_count")

    @property
    def temporary_callee(self) -> bool:
        return self.platform.has("set_temporary_callee")

    @property
    def stops_calls(self) -> bool:
        return self.platform.has("stop_call")

    @property
    def x_per_a(self) -> int | None:
        """How many X one A may hold at a time (AX, AXYB: 5), checked under a lock on A."""
        return self.platform.capacity.x_per_a

    @property
    def exclusive_x(self) -> bool:
        """An X carries one A at a time (and is nobody's Y meanwhile)."""
        return self.platform.capacity.a_per_x == 1

    @property
    def extensions(self) -> bool:
        return self.platform.extensions

    @property
    def has_y(self) -> bool:
        return self.platform.capacity.relations_per_y is not None

    @property
    def relations_per_y(self) -> int:
        return self.platform.capacity.relations_per_y or 0

    # --- the console's fields -------------------------------------------------------------------

    @property
    def binding_fields(self) -> tuple[str, ...]:
        """The model's names of the fields a create takes (lifetimes in seconds)."""
        return tuple(MODEL_NAMES.get(name, name) for name in self.fields)

    @property
    def bulk_columns(self) -> tuple[str, ...]:
        """The columns a bulk CSV of the mode may have: the create form's field names."""
        return self.fields

    def has(self, model_field: str) -> bool:
        """Whether its bindings have ``model_field`` (``yb_duration``, ``callback_num``)."""
        return model_field in self.binding_fields

    @property
    def needs_b(self) -> bool:
        return "b_number" in self.fields

    @property
    def local_fields(self) -> tuple[str, ...]:
        """Changed by the console at once (nothing is sent): where the console ends bindings
        itself, their lifetime too."""
        return LOCAL_FIELDS if self.platform_expires else (*LOCAL_FIELDS, "duration")

    @property
    def changeable(self) -> tuple[str, ...]:
        """Every field of an active binding that may change: the console's, then the platform's."""
        return (*self.local_fields, *self.modifiable)

    def call_direction_label(self, value: int | None) -> str:
        return str(dict(self.call_directions).get(value, value if value is not None else ""))

    # --- capacity -------------------------------------------------------------------------------

    def per_x_capacity(self, extension_length: int | None) -> int:
        """Live bindings one X can carry (spec §4); the AXE extensions capped by
        ``BINDINGS_AXE_MAX_PER_X``; an exclusive X carries one."""
        capacity = self.platform.capacity
        if capacity.pairs_per_x is not None:
            return capacity.pairs_per_x
        if capacity.extension_digits is not None:
            top = capacity.extensions_per_x(extension_length or 4)
            return max(1, min(top, settings.BINDINGS_AXE_MAX_PER_X))
        return 1

    def x_rule(self, application) -> str:
        """The capacity rule of X, in words, for a refusal that found no X."""
        capacity = self.platform.capacity
        if capacity.pairs_per_x is not None:
            return gettext("an X carries at most %(n)s pairs") % {"n": capacity.pairs_per_x}
        if capacity.extension_digits is not None:
            return gettext("an X carries at most %(n)s A numbers") % {
                "n": self.per_x_capacity(application.extension_length)
            }
        return gettext("an X belongs to one A at a time")


# ---------------------------------------------------------------------------------------------
# The modes
# ---------------------------------------------------------------------------------------------

AXB = BindingMode(
    "AXB",
    platform_modes.AXB,
    AxbWire(),
    fields=(
        "a_number",
        "b_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "order_ref",
        "cost_tag",
        "call_direction",
        "max_duration",
        "last_min_voice",
        "record_flag",
        "record_hint_tone",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    modifiable=(
        "call_direction",
        "duration",
        "max_duration",
        "last_min_voice",
        "record_flag",
        "record_hint_tone",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    help_texts={
        "lifetime": _(
            "The platform unbinds it after this long; empty or 0: never (at most 90 days)."
        ),
    },
    avoid=Avoid(
        a_or_b=True,
        rule="axb_number_once_per_x",
        refusal=_(
            "AXB rule: a user number may appear only once per X, and every usable X in "
            "%(where)s already carries A or B. Add X numbers to the pool or choose another "
            "city."
        ),
    ),
)

AX = BindingMode(
    "AX",
    platform_modes.AX,
    AxWire(),
    # AX has no B: A owns X, others call A through it, A calls out through it.
    fields=(
        "a_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "order_ref",
        "cost_tag",
        "call_direction",
        "max_duration",
        "last_min_voice",
        "record_flag",
        "record_hint_tone",
        "private_sms",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    modifiable=(
        "private_sms",
        "record_flag",
        "record_hint_tone",
        "max_duration",
        "last_min_voice",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    labels={"callee_hint_tone": _("Waiting tone for callers of X")},
    help_texts={
        "lifetime": _(
            "AX bindings never expire on the platform: the console unbinds it after this long."
        ),
    },
    call_directions=AX_CALL_DIRECTIONS,
)

AXE = BindingMode(
    "AXE",
    platform_modes.AXE,
    AxeWire(),
    fields=(
        "a_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "order_ref",
        "cost_tag",
        "display_num_mode",
        "callback_num",
        "callback_tone",
        "callback_expired_time",
        "record_flag",
        "record_hint_tone",
        "user_data",
    ),
    modifiable=(
        "display_num_mode",
        "record_flag",
        "record_hint_tone",
        "callback_num",
        "callback_tone",
        "duration",
        "callback_expired_time",
        "user_data",
    ),
    help_texts={"lifetime": _("The platform unbinds it after this long; empty: never.")},
    avoid=Avoid(
        a_or_b=False,
        rule="axe_a_once_per_x",
        refusal=_(
            "AXE rule: an A number has at most one extension per X, and A already has one on "
            "every usable X in %(where)s."
        ),
    ),
)

AXYB = BindingMode(
    "AXYB",
    platform_modes.AXYB,
    AxybWire(),
    fields=(
        "a_number",
        "b_number",
        "area_code",
        "area_match_mode",
        "lifetime",
        "yb_lifetime",
        "order_ref",
        "cost_tag",
        "call_direction",
        "record_flag",
        "record_hint_tone",
        "caller_hint_tone",
        "callee_hint_tone",
        "user_data",
    ),
    modifiable=(),  # AXYB has no modify (spec §5.4)
    labels={
        "caller_hint_tone": _("Waiting tone for A (dialling Y)"),
        "callee_hint_tone": _("Waiting tone for B (dialling X)"),
    },
    help_texts={
        "lifetime": _("0 or empty: never; at most 90 days."),
        "yb_lifetime": _("0 or empty: as long as the binding; at most 90 days."),
    },
    platform_chooses_x=True,
)

# Every mode that has bindings, in the spec's order (X mode has none: the console decides calls).
MODES: Mapping[str, BindingMode] = {mode.name: mode for mode in (AXB, AX, AXE, AXYB)}
NAMES: tuple[str, ...] = tuple(MODES)
# Where the platform ends bindings whose time is up, and where the console does (expiry).
PLATFORM_EXPIRES: tuple[str, ...] = tuple(m.name for m in MODES.values() if m.platform_expires)
CONSOLE_EXPIRES: tuple[str, ...] = tuple(m.name for m in MODES.values() if not m.platform_expires)
STOPS_CALLS: tuple[str, ...] = tuple(m.name for m in MODES.values() if m.stops_calls)
# Where the platform counts the bindings of each X (AXE: QueryAXEBindingCount).
PLATFORM_COUNTS: tuple[str, ...] = tuple(m.name for m in MODES.values() if m.counts_before_bind)


def of(name: Any) -> BindingMode:
    """The mode of this name (a binding's or an application's ``mode``); KeyError for X mode."""
    try:
        return MODES[str(name)]
    except KeyError:
        raise KeyError(f"mode {name!r} has no bindings: one of {', '.join(MODES)}") from None


def has_bindings(name: Any) -> bool:
    return str(name) in MODES


def per_x_capacity(name: Any, extension_length: int | None) -> int:
    """Live bindings one number of an application of mode ``name`` can carry (X mode: one)."""
    return of(name).per_x_capacity(extension_length) if has_bindings(name) else 1
