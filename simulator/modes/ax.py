"""AX (spec §5.2): A owns X; anyone calling X reaches A, and A calling X a temporary callee.

One X binds one A at a time and one A holds at most five X. A binding lives until it is unbound
(the platform sets no lifetime). A reaches, by dialling X, the temporary callee last set for a
while (§5.2.5); ``turnFlag`` "off" refuses calls. Anyone may text X and reach A; A texting X names
B after an ``@`` at the end, or the customer is asked.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

from privatenumber import modes
from privatenumber.modes import Interface
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.exchange import InterfaceHandler
from simulator.modes.pool import drop_none, fmt_time, requested_area
from simulator.modes.rules import ModeRules
from simulator.results import PlatformError, invalid, missing
from simulator.routing import (
    AX_NO_CALLEE,
    AX_TURNED_OFF,
    DIRECTION_REFUSED,
    CallRoute,
    SmsRoute,
    stranger,
)
from simulator.validate import Fields

CAPACITY = modes.AX.capacity
# An SMS from A to X names B at its end: "text@13800000021".
AT_B_RE = re.compile(r"@(\+?\d{5,20})\s*$")


def _global(number: str) -> str:
    """``@13800000021`` names B without the country code; the forwarded SMS needs it."""
    return number if number.startswith("+") else f"+86{number}"


class AxRules(ModeRules):
    """AX bindings: bind, modify, query, unbind and the temporary callee; calls and SMS to A."""

    mode = modes.AX
    kinds = ("AX",)
    call_kind = "AX"

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        return {
            modes.AX_BIND: self.bind,
            modes.AX_MODIFY: self.modify,
            modes.AX_QUERY: self.query,
            modes.AX_UNBIND: self.unbind,
            modes.AX_SET_TEMPORARY_CALLEE: self.set_temporary_callee,
        }

    # --- interfaces (spec §5.2) ------------------------------------------------------------------

    def _fields(self, f: Fields) -> dict[str, Any]:
        pre = f.play_info("preVoice") or {}
        # Waiting tones may come inside preVoice or at the top level (placement UNCONFIRMED).
        for key in ("callerHintTone", "calleeHintTone"):
            tone = f.string(key, min_len=0, max_len=128)
            if tone is not None:
                pre[key] = tone
        return {
            "turnFlag": f.string("turnFlag", choices=("on", "off")),
            "callDirection": f.integer("callDirection", lo=0, hi=2),
            "recordFlag": f.flag("recordFlag"),
            "recordHintTone": f.string("recordHintTone", max_len=128),
            "preVoice": pre or None,
            "maxDuration": f.integer("maxDuration", lo=0, hi=1440),
            "lastMinVoice": f.string("lastMinVoice", min_len=0, max_len=128),
            "privateSms": f.flag("privateSms"),
            "calleeNumDisplay": f.string("calleeNumDisplay", choices=("0", "1")),
            "userData": f.user_data(),
        }

    def bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Create AX binding (§5.2.1): X named, or chosen in areaCode."""
        a = f.req_number("origNum")
        x = f.number("privateNum")
        num_type = f.string("privateNumType", max_len=32)
        area, loose = requested_area(f)
        fields = self._fields(f)
        if (
            x is None
            and area is not None
            and num_type is None
            and unconfirmed.AX_REQUIRE_PRIVATE_NUM_TYPE
        ):
            raise missing("privateNumType")
        with self.store.tx() as db:
            self.pool.sweep(db)
            if x is not None:
                number = self.pool.own_x(db, app, x)
                if db.execute(
                    "SELECT 1 FROM bindings WHERE x=? AND a=? AND kind='AX'", (x, a)
                ).fetchone():
                    raise PlatformError("1016002")
                if number["x_used"] >= CAPACITY.a_per_x:
                    raise PlatformError(unconfirmed.AX_X_TAKEN_CODE)
            held = db.execute(
                "SELECT COUNT(*) FROM bindings WHERE a=? AND kind='AX' AND app_key=?",
                (a, app.app_key),
            ).fetchone()[0]
            if held >= CAPACITY.x_per_a:
                raise PlatformError("1011003")
            if x is None:
                free = f"x_used < {CAPACITY.a_per_x}"
                x = self.pool.choose(db, app, area, loose, lambda n: True, capacity_sql=free)
            binding_id = self.pool.insert(db, app, "AX", x=x, a=a, data=fields, expires=None)
        return {"origNum": a, "privateNum": x, "subscriptionId": binding_id}

    def _find(self, db: sqlite3.Connection, app: AppConfig, f: Fields) -> sqlite3.Row:
        binding_id = f.string("subscriptionId", max_len=64)
        a = f.number("origNum")
        x = f.number("privateNum")
        if binding_id is not None:
            row = self.pool.binding(db, app, binding_id, ("AX",))
        elif a is not None and x is not None:
            row = db.execute(
                "SELECT * FROM bindings WHERE x=? AND a=? AND kind='AX' AND app_key=?",
                (x, a, app.app_key),
            ).fetchone()
        else:
            raise missing("subscriptionId")
        if row is None:
            raise PlatformError("1016001")
        return row

    def modify(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Modify AX binding (§5.2.2), by id or A + X."""
        with self.store.tx() as db:
            self.pool.sweep(db)
            row = self._find(db, app, f)
            self.pool.update(db, row, self._fields(f))
        return {}

    def _item(self, row: sqlite3.Row) -> dict[str, Any]:
        data = json.loads(row["data"])
        callee = data.get("tempCallee")
        if callee and (data.get("tempExpires") or 0) <= time.time():
            callee = None
        return drop_none(
            {
                "subscriptionId": row["id"],
                "origNum": row["a"],
                "privateNum": row["x"],
                "calleeNum": callee,
                "recordFlag": data.get("recordFlag", "false"),
                "privateSms": data.get("privateSms", "true"),
                "turnFlag": data.get("turnFlag", "on"),
                "maxDuration": data.get("maxDuration", 0),
                "subscribeTime": fmt_time(row["created"]),
                "userData": data.get("userData"),
            }
        )

    def query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Query AX binding (§5.2.3): by id, by A (all its X) or by X."""
        binding_id = f.string("subscriptionId", max_len=64)
        a = f.number("origNum")
        x = f.number("privateNum")
        with self.store.tx() as db:
            self.pool.sweep(db)
            base = "SELECT * FROM bindings WHERE kind='AX' AND app_key=? "
            if binding_id is not None:
                rows = db.execute(base + "AND id=?", (app.app_key, binding_id)).fetchall()
            elif a is not None:
                rows = db.execute(base + "AND a=? ORDER BY seq", (app.app_key, a)).fetchall()
            elif x is not None:
                rows = db.execute(base + "AND x=?", (app.app_key, x)).fetchall()
            else:
                raise missing("origNum")
        if not rows:
            raise PlatformError("1016001")
        return {"privateNumList": [self._item(r) for r in rows]}

    def unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Delete AX binding (§5.2.4), by id or X."""
        binding_id = f.string("subscriptionId", max_len=64)
        x = f.number("privateNum")
        f.number("origNum")  # may be sent; the platform ignores it
        with self.store.tx() as db:
            self.pool.sweep(db)
            if binding_id is not None:
                row = self.pool.binding(db, app, binding_id, ("AX",))
            elif x is not None:
                row = db.execute(
                    "SELECT * FROM bindings WHERE x=? AND kind='AX' AND app_key=?",
                    (x, app.app_key),
                ).fetchone()
            else:
                raise missing("subscriptionId")
            if row is None:
                raise PlatformError(unconfirmed.AX_UNBIND_NOT_FOUND_CODE)
            self.pool.delete(db, row)
        return {}

    def set_temporary_callee(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Set temporary callee (§5.2.5): whom A reaches by dialling X, for a while."""
        a = f.req_number("origNum")
        x = f.req_number("privateNum")
        callee = f.req_number("calleeNum")
        duration = f.integer("duration", lo=1, hi=259200)
        user_data = f.user_data()
        if callee == a:
            raise invalid("calleeNum")
        seconds = duration or unconfirmed.AX_TEMP_CALLEE_DEFAULT_SECONDS
        with self.store.tx() as db:
            self.pool.sweep(db)
            row = db.execute(
                "SELECT * FROM bindings WHERE x=? AND a=? AND kind='AX' AND app_key=?",
                (x, a, app.app_key),
            ).fetchone()
            if row is None:
                raise PlatformError("1016001")
            self.pool.update(
                db,
                row,
                {
                    "tempCallee": callee,
                    "tempExpires": self.pool.expiry(seconds),
                    "tempUserData": user_data,
                },
            )
        return {}

    # --- calls, SMS ------------------------------------------------------------------------------

    @staticmethod
    def _owner(db: sqlite3.Connection, x: str) -> sqlite3.Row | None:
        """The binding of the A who owns X."""
        return db.execute("SELECT * FROM bindings WHERE x=? AND kind='AX'", (x,)).fetchone()

    def route_call(self, db: sqlite3.Connection, route: CallRoute) -> None:
        row = self._owner(db, route.dialled)
        if row is None:
            route.failure = self.no_binding
            return
        data = json.loads(row["data"])
        route.use(row, data)
        allowed = data.get("callDirection", 0)
        if data.get("turnFlag") == "off":
            route.failure = AX_TURNED_OFF
        elif route.caller == row["a"]:
            route.direction = 1
            if (data.get("tempExpires") or 0) > time.time():
                route.callee = data.get("tempCallee")
                route.user_data = data.get("tempUserData") or route.user_data
            if allowed == 2:
                route.failure = DIRECTION_REFUSED
            elif route.callee is None:
                route.failure = AX_NO_CALLEE
        else:
            route.callee, route.direction = row["a"], 0
            if data.get("calleeNumDisplay") == "1":  # A sees the real caller, not X
                route.display = route.caller
            if allowed == 1:
                route.failure = DIRECTION_REFUSED

    def route_sms(
        self, db: sqlite3.Connection, x: str, sender: str, content: str
    ) -> SmsRoute | None:
        row = self._owner(db, x)  # X belongs to one A; anyone may text it
        if row is None:
            return None
        if sender != row["a"]:
            return SmsRoute(row, row["a"], f"{content}[From{sender}]")
        match = AT_B_RE.search(content)
        if match is None:  # A named nobody: the customer decides
            return SmsRoute(row, None, content)
        return SmsRoute(row, _global(match.group(1)), content[: match.start()])

    def bulk_parties(self, row: sqlite3.Row, index: int) -> tuple[str, str, str | None]:
        return stranger(), row["x"], None
