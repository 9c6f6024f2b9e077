"""AXYB (spec §5.4): A bound to X, B bound to Y; A calls Y to reach B, B calls X to reach A.

A bind comes in two steps at one URI: A–X (the platform chooses X in ``areaCode``), then B–Y on
the first step's ``subscriptionId`` (it chooses Y). One X binds one A at a time, one A holds at
most five X; a Y serves many relations (at most 1000) but never twice with the same AX. An AX's
lifetime ends its YB relations too; a YB never outlives its AX. A B who calls X unbound is given
a Y on the spot. AXYB has no private SMS.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from privatenumber import modes
from privatenumber.modes import Interface
from simulator.config import AppConfig
from simulator.exchange import InterfaceHandler
from simulator.modes.pool import drop_none, fmt_time, requested_area
from simulator.modes.rules import ModeRules
from simulator.results import PlatformError, invalid, missing
from simulator.routing import AXYB_NO_Y, AXYB_SELF, DIRECTION_REFUSED, CallRoute
from simulator.validate import Fields

CAPACITY = modes.AXYB.capacity
LIFETIME = modes.AXYB.lifetime_of("duration")
YB_LIFETIME = modes.AXYB.lifetime_of("ybDuration")


class AxybRules(ModeRules):
    """AXYB bindings (an AX part and its YB relations): bind in two steps, query, unbind; calls."""

    mode = modes.AXYB
    kinds = ("AXYB", "YB")
    call_kind = "YB"

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        return {
            modes.AXYB_BIND: self.bind,
            modes.AXYB_BIND_YB: self.bind,  # the same interface: subscriptionId makes it step two
            modes.AXYB_QUERY: self.query,
            modes.AXYB_UNBIND: self.unbind,
        }

    # --- interfaces (spec §5.4) ------------------------------------------------------------------

    @staticmethod
    def _duration(f: Fields, name: str) -> int | None:
        """``duration`` or ``ybDuration``: 0 (never, or with the AX) or within the table's range."""
        lifetime = modes.AXYB.lifetime_of(name)
        value = f.integer(name, lo=0, hi=lifetime.longest)
        if value is not None and 0 < value < lifetime.shortest:
            raise invalid(name)
        return value

    def _fields(self, f: Fields) -> dict[str, Any]:
        return {
            "callDirection": f.integer("callDirection", lo=0, hi=2),
            "duration": self._duration(f, "duration"),
            "ybDuration": self._duration(f, "ybDuration"),
            "recordFlag": f.flag("recordFlag"),
            "recordHintTone": f.string("recordHintTone", max_len=128),
            "preVoiceX": f.string("preVoiceX", max_len=128),
            "preVoiceY": f.string("preVoiceY", max_len=128),
            "userData": f.user_data(),
        }

    def bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Both steps (§5.4.1): ``origNum`` is A, or B with the AX ``subscriptionId``.

        The request names no X and no Y: they are chosen in ``areaCode`` and answered as
        ``relationNumber``.
        """
        parent_id = f.string("subscriptionId", max_len=64)
        if parent_id is not None:
            return self._bind_yb(app, f, parent_id)
        a = f.req_number("origNum")
        area, loose = requested_area(f)
        fields = self._fields(f)
        with self.store.tx() as db:
            self.pool.sweep(db)
            held = db.execute(
                "SELECT COUNT(*) FROM bindings WHERE a=? AND kind='AXYB' AND app_key=?",
                (a, app.app_key),
            ).fetchone()[0]
            if held >= CAPACITY.x_per_a:
                raise PlatformError("1011003")
            free = f"x_used < {CAPACITY.a_per_x} AND y_used = 0"  # and not serving as a Y
            x = self.pool.choose(db, app, area, loose, lambda n: True, capacity_sql=free)
            expires = self.pool.expiry(LIFETIME.seconds(fields["duration"]))
            binding_id = self.pool.insert(db, app, "AXYB", x=x, a=a, data=fields, expires=expires)
        return {"subscriptionId": binding_id, "relationNumber": x}

    def _bind_yb(self, app: AppConfig, f: Fields, parent_id: str) -> dict[str, Any]:
        b = f.req_number("origNum")
        area, loose = requested_area(f)
        yb_duration = self._duration(f, "ybDuration")
        user_data = f.user_data()
        self._fields(f)  # the rest is validated; the AX step's settings stay in force
        with self.store.tx() as db:
            self.pool.sweep(db)
            parent = self.pool.binding(db, app, parent_id, ("AXYB",))
            if parent is None:
                raise PlatformError("1016001")
            if b == parent["a"]:
                raise invalid("origNum")
            binding_id, y = self.bind_yb(db, app, parent, b, area, loose, yb_duration, user_data)
        return {"subscriptionId": binding_id, "relationNumber": y}

    def bind_yb(
        self,
        db: sqlite3.Connection,
        app: AppConfig,
        parent: sqlite3.Row,
        b: str,
        area: str | None = None,
        loose: bool = True,
        yb_duration: int | None = None,
        user_data: str | None = None,
    ) -> tuple[str, str]:
        """Add a YB relation to an AXYB binding, its Y chosen in ``area``.

        Also used when an unbound B calls X (spec §5.4.1): B is given a Y on the spot.
        """
        data = json.loads(parent["data"])
        used = {r[0] for r in db.execute("SELECT y FROM bindings WHERE parent=?", (parent["id"],))}

        def fits(number: str) -> bool:
            return number not in used and number != parent["x"]

        y = self.pool.choose(
            db,
            app,
            area,
            loose,
            fits,
            capacity_sql=f"x_used = 0 AND y_used < {CAPACITY.relations_per_y}",
        )
        seconds = yb_duration if yb_duration is not None else data.get("ybDuration")
        expires = self.pool.expiry(YB_LIFETIME.seconds(seconds))
        if parent["expires"] is not None and (expires is None or expires > parent["expires"]):
            expires = parent["expires"]  # a YB never outlives its AX
        binding_id = self.pool.insert(
            db,
            app,
            "YB",
            x=parent["x"],
            a=parent["a"],
            b=b,
            y=y,
            parent=parent["id"],
            data={"ybDuration": seconds, "userData": user_data},
            expires=expires,
        )
        return binding_id, y

    def _items(self, db: sqlite3.Connection, row: sqlite3.Row) -> list[dict[str, Any]]:
        if row["kind"] == "YB":
            parent = db.execute("SELECT * FROM bindings WHERE id=?", (row["parent"],)).fetchone()
            pairs = [(parent, row)]
        else:
            parent = row
            children = db.execute(
                "SELECT * FROM bindings WHERE parent=? ORDER BY seq", (row["id"],)
            ).fetchall()
            pairs = [(row, c) for c in children] or [(row, None)]
        items = []
        for ax, yb in pairs:
            data = json.loads(ax["data"])
            yb_data = json.loads(yb["data"]) if yb else {}
            items.append(
                drop_none(
                    {
                        "bindId": yb["id"] if yb else ax["id"],
                        "numA": ax["a"],
                        "numX": ax["x"],
                        "numY": yb["y"] if yb else None,
                        "numB": yb["b"] if yb else None,
                        "recordFlag": data.get("recordFlag", "false"),
                        "recordHintTone": data.get("recordHintTone"),
                        "subscribeTime": fmt_time((yb or ax)["modified"]),
                        "callDirection": data.get("callDirection", 0),
                        "duration": str(data.get("duration") or 0),
                        "ybDuration": str(yb_data.get("ybDuration") or data.get("ybDuration") or 0),
                        "preVoiceX": data.get("preVoiceX"),
                        "preVoiceY": data.get("preVoiceY"),
                        "userData": yb_data.get("userData") or data.get("userData"),
                    }
                )
            )
        return items

    def _find(self, db: sqlite3.Connection, app: AppConfig, f: Fields) -> list[sqlite3.Row]:
        binding_id = f.string("subscriptionId", max_len=64)
        number = f.number("relationNum")
        if binding_id is not None:
            row = self.pool.binding(db, app, binding_id, ("AXYB", "YB"))
            return [row] if row else []
        if number is None:
            raise missing("relationNum")
        return db.execute(
            "SELECT * FROM bindings WHERE app_key=? AND ((kind='AXYB' AND x=?) OR "
            "(kind='YB' AND y=?)) ORDER BY seq",
            (app.app_key, number, number),
        ).fetchall()

    def query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Query AXYB binding (§5.4.2), by id or by the X/Y of the bind."""
        with self.store.tx() as db:
            self.pool.sweep(db)
            rows = self._find(db, app, f)
            items = [item for row in rows for item in self._items(db, row)]
        if not items:
            raise PlatformError("1016001")
        return {"xyRelationNumList": items}

    def unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Unbind AX and YB, or with ``yNum`` / ``bNum`` one Y-B relation only (yNum wins)."""
        y = f.number("yNum")
        b = f.number("bNum")
        with self.store.tx() as db:
            self.pool.sweep(db)
            rows = self._find(db, app, f)
            if rows and (y is not None or b is not None):
                parents = [row["id"] if row["kind"] == "AXYB" else row["parent"] for row in rows]
                column, number = ("y", y) if y is not None else ("b", b)
                marks = ",".join("?" * len(parents))
                rows = db.execute(
                    f"SELECT * FROM bindings WHERE kind='YB' AND {column}=? "  # noqa: S608
                    f"AND parent IN ({marks})",
                    (number, *parents),
                ).fetchall()
            if not rows:
                raise PlatformError("1016001")
            for row in rows:
                self.pool.delete(db, row)
        return {}

    def forget(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """An AX part takes its YB relations with it."""
        if row["kind"] == "AXYB":
            for child in db.execute(
                "SELECT * FROM bindings WHERE parent=?", (row["id"],)
            ).fetchall():
                self.pool.delete(db, child)

    # --- calls -----------------------------------------------------------------------------------

    def route_call(self, db: sqlite3.Connection, route: CallRoute) -> None:
        yb = db.execute(
            "SELECT * FROM bindings WHERE y=? AND a=? AND kind='YB'", (route.dialled, route.caller)
        ).fetchone()
        if yb is not None:  # A calls Y to reach B
            ax = db.execute("SELECT * FROM bindings WHERE id=?", (yb["parent"],)).fetchone()
            data = json.loads(ax["data"])
            route.use(ax, data)
            route.binding_id = yb["id"]
            route.callee, route.direction = yb["b"], 1
            if data.get("callDirection", 0) == 2:
                route.failure = DIRECTION_REFUSED
            return
        ax = db.execute(
            "SELECT * FROM bindings WHERE x=? AND kind='AXYB'", (route.dialled,)
        ).fetchone()
        if ax is None:
            route.failure = self.no_binding
            return
        data = json.loads(ax["data"])
        route.use(ax, data)
        if route.caller == ax["a"]:
            route.failure = AXYB_SELF
            return
        yb = db.execute(
            "SELECT * FROM bindings WHERE parent=? AND b=?", (ax["id"], route.caller)
        ).fetchone()
        if yb is None:  # an unbound B calling X is given a Y on the spot (spec §5.4.1)
            try:
                yb_id, y = self.bind_yb(db, route.app, ax, route.caller)
            except PlatformError:
                route.failure = AXYB_NO_Y
                return
        else:
            yb_id, y = yb["id"], yb["y"]
        route.binding_id, route.display = yb_id, y
        route.callee, route.direction = ax["a"], 0
        if data.get("callDirection", 0) == 1:
            route.failure = DIRECTION_REFUSED

    def bulk_parties(self, row: sqlite3.Row, index: int) -> tuple[str, str, str | None]:
        return row["a"], row["y"], None
