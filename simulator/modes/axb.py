"""AXB (spec §5.1): A and B talk through X; either may call X.

One X holds up to 5000 A–B pairs, a user number at most once per X (AXB + CXD, never AXB + BXC);
a binding may be given a lifetime, counted from the bind or from a modify of ``duration``, after
which the platform unbinds it itself. A call from A through X reaches B and from B reaches A,
as ``callDirection`` allows; an SMS likewise.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from privatenumber import modes
from privatenumber.modes import Interface
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.exchange import InterfaceHandler
from simulator.modes.pool import drop_none, fmt_time, requested_area
from simulator.modes.rules import ModeRules
from simulator.results import PlatformError, invalid, missing
from simulator.routing import DIRECTION_REFUSED, CallRoute, SmsRoute
from simulator.validate import Fields

CAPACITY = modes.AXB.capacity
LIFETIME = modes.AXB.lifetime_of("duration")


class AxbRules(ModeRules):
    """AXB bindings: bind, modify, query and unbind; calls and SMS between A and B."""

    mode = modes.AXB
    kinds = ("AXB",)
    call_kind = "AXB"

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        return {
            modes.AXB_BIND: self.bind,
            modes.AXB_MODIFY: self.modify,
            modes.AXB_QUERY: self.query,
            modes.AXB_UNBIND: self.unbind,
        }

    def _fields(self, f: Fields) -> dict[str, Any]:
        return {
            "callDirection": f.integer("callDirection", lo=0, hi=2),
            "duration": f.integer("duration", lo=0, hi=LIFETIME.longest),
            "recordFlag": f.flag("recordFlag"),
            "recordHintTone": f.string("recordHintTone", max_len=128),
            "maxDuration": f.integer("maxDuration", lo=0, hi=1440),
            "lastMinVoice": f.string("lastMinVoice", min_len=0, max_len=128),
            "privateSms": f.flag("privateSms"),
            "preVoice": f.play_info("preVoice"),
            "userData": f.user_data(),
        }

    def _conflict(
        self, db: sqlite3.Connection, x: str, numbers: tuple[str, ...], exclude: str = ""
    ) -> str | None:
        """The first of ``numbers`` already bound on X (a user number appears once per X)."""
        marks = ",".join("?" * len(numbers))
        for column in ("a", "b"):
            row = db.execute(
                f"SELECT a, b FROM bindings WHERE x=? AND {column} IN ({marks}) "  # noqa: S608
                "AND kind='AXB' AND id<>? LIMIT 1",
                (x, *numbers, exclude),
            ).fetchone()
            if row:
                return next(n for n in numbers if n in (row["a"], row["b"]))
        return None

    def bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Create AXB binding (§5.1.1): X named, or chosen in areaCode."""
        x = f.number("relationNum")
        area, loose = requested_area(f)
        a = f.req_number("callerNum")
        b = f.req_number("calleeNum")
        fields = self._fields(f)
        if a == b:
            raise invalid("calleeNum")
        with self.store.tx() as db:
            self.pool.sweep(db)
            if x is not None:
                number = self.pool.own_x(db, app, x)
                taken = self._conflict(db, x, (a, b))
                if taken:
                    raise PlatformError("1012010", f"The number {taken} has been bound.")
                if number["x_used"] >= CAPACITY.pairs_per_x:
                    raise PlatformError(unconfirmed.AXB_X_FULL_CODE)
            else:
                x = self.pool.choose(
                    db,
                    app,
                    area,
                    loose,
                    lambda n: self._conflict(db, n, (a, b)) is None,
                    capacity_sql=f"x_used < {CAPACITY.pairs_per_x}",
                )
            expires = self.pool.expiry(LIFETIME.seconds(fields["duration"]))
            binding_id = self.pool.insert(
                db, app, "AXB", x=x, a=a, b=b, data=fields, expires=expires
            )
        return drop_none(
            {
                "subscriptionId": binding_id,
                "relationNum": x,
                "callerNum": a,
                "calleeNum": b,
                "userData": fields["userData"],
            }
        )

    def modify(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Modify AXB binding (§5.1.2); a new duration counts from now."""
        binding_id = f.req_string("subscriptionId", max_len=64)
        a = f.number("callerNum")
        b = f.number("calleeNum")
        fields = self._fields(f)
        with self.store.tx() as db:
            self.pool.sweep(db)
            row = self.pool.binding(db, app, binding_id, ("AXB",))
            if row is None:
                raise PlatformError("1016001")
            new_a, new_b = a or row["a"], b or row["b"]
            if new_a == new_b:
                # Name the field this request sent: a new A equal to B is callerNum's fault.
                raise invalid("callerNum" if a is not None and b is None else "calleeNum")
            changed = tuple(n for n in (a, b) if n is not None and n not in (row["a"], row["b"]))
            taken = changed and self._conflict(db, row["x"], changed, exclude=row["id"])
            if taken:
                raise PlatformError("1012010", f"The number {taken} has been bound.")
            columns: dict[str, Any] = {"a": new_a, "b": new_b}
            if fields["duration"] is not None:
                # The new lifetime counts from the modification (spec §5.1.2).
                columns["expires"] = self.pool.expiry(LIFETIME.seconds(fields["duration"]))
            self.pool.update(db, row, fields, columns=columns)
        return {}

    def _item(self, row: sqlite3.Row) -> dict[str, Any]:
        data = json.loads(row["data"])
        return drop_none(
            {
                "subscriptionId": row["id"],
                "relationNum": row["x"],
                "callerNum": row["a"],
                "calleeNum": row["b"],
                "callDirection": data.get("callDirection", 0),
                "duration": data.get("duration", 0),
                "maxDuration": data.get("maxDuration", 0),
                "recordFlag": data.get("recordFlag", "false"),
                "recordHintTone": data.get("recordHintTone"),
                "privateSms": data.get("privateSms", "true"),
                "lastMinVoice": data.get("lastMinVoice"),
                "preVoice": data.get("preVoice"),
                "subscribeTime": fmt_time(row["created"]),
                "userData": data.get("userData"),
            }
        )

    def query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Query AXB binding (§5.1.3): one by id, or the bindings on X page by page."""
        x = f.number("relationNum")
        binding_id = f.string("subscriptionId", max_len=64)
        a = f.number("callerNum")
        b = f.number("calleeNum")
        page = f.integer("pageIndex")
        size = f.integer("pageSize")
        page = page if page and page >= 1 else 1
        size = size if size and 10 <= size <= 100 else 50
        with self.store.tx() as db:
            self.pool.sweep(db)
            if binding_id is not None:
                row = self.pool.binding(db, app, binding_id, ("AXB",))
                rows = [row] if row else []
                total, page, size = len(rows), 1, size
            elif x is not None:
                where, args = "x=? AND app_key=? AND kind='AXB'", [x, app.app_key]
                if a is not None:
                    where, args = where + " AND a=?", [*args, a]
                if b is not None:
                    where, args = where + " AND b=?", [*args, b]
                total = db.execute(
                    f"SELECT COUNT(*) FROM bindings WHERE {where}",  # noqa: S608
                    args,
                ).fetchone()[0]
                rows = db.execute(
                    f"SELECT * FROM bindings WHERE {where} ORDER BY seq "  # noqa: S608
                    "LIMIT ? OFFSET ?",
                    (*args, size, (page - 1) * size),
                ).fetchall()
            else:
                raise missing("relationNum")
        if not total:
            raise PlatformError("1016001")
        return {
            "totalCount": total,
            "pageIndex": page,
            "pageSize": size,
            "relationNumList": [self._item(r) for r in rows],
        }

    def unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Delete AXB binding (§5.1.4): one by id, or every binding on X."""
        binding_id = f.string("subscriptionId", max_len=64)
        x = f.number("relationNum")
        with self.store.tx() as db:
            self.pool.sweep(db)
            if binding_id is not None:
                row = db.execute("SELECT * FROM bindings WHERE id=?", (binding_id,)).fetchone()
                if row is None:
                    raise PlatformError("1016001")
                if row["app_key"] != app.app_key or row["kind"] != "AXB":
                    raise PlatformError("1012001")
                self.pool.delete(db, row)
            elif x is not None:
                owner = db.execute("SELECT app_key FROM numbers WHERE number=?", (x,)).fetchone()
                if owner is None or owner["app_key"] != app.app_key:
                    raise PlatformError("1012001")
                rows = db.execute(
                    "SELECT * FROM bindings WHERE x=? AND kind='AXB'", (x,)
                ).fetchall()
                if not rows:
                    raise PlatformError("1016001")
                for row in rows:
                    self.pool.delete(db, row)
            else:
                raise missing("subscriptionId")
        return {}

    # --- calls, SMS ------------------------------------------------------------------------------

    @staticmethod
    def _pair(db: sqlite3.Connection, x: str, party: str) -> sqlite3.Row | None:
        """The binding on X that has ``party`` as A or B."""
        return db.execute(
            "SELECT * FROM bindings WHERE x=? AND kind='AXB' AND (a=? OR b=?)",
            (x, party, party),
        ).fetchone()

    def route_call(self, db: sqlite3.Connection, route: CallRoute) -> None:
        row = self._pair(db, route.dialled, route.caller)
        if row is None:
            route.failure = self.no_binding
            return
        data = json.loads(row["data"])
        route.use(row, data)
        allowed = data.get("callDirection", 0)
        if route.caller == row["a"]:
            route.callee, route.direction = row["b"], 1
            if allowed == 2:
                route.failure = DIRECTION_REFUSED
        else:
            route.callee, route.direction = row["a"], 0
            if allowed == 1:
                route.failure = DIRECTION_REFUSED

    def route_sms(
        self, db: sqlite3.Connection, x: str, sender: str, content: str
    ) -> SmsRoute | None:
        row = self._pair(db, x, sender)
        if row is None:
            return None
        return SmsRoute(row, row["b"] if sender == row["a"] else row["a"], content)

    def bulk_parties(self, row: sqlite3.Row, index: int) -> tuple[str, str, str | None]:
        return (row["a"] if index % 2 == 0 else row["b"]), row["x"], None
