"""AXE (spec §5.3, §5.4.5): X shared by many A, each with an extension E.

Callers dial X, then E, and reach A; A calling X reaches whoever last called A through X (a
callback record, kept ``callbackExpiredTime``), else ``callbackNum`` or ``callbackTone``. The
extension length is fixed per application (1–4 digits: 9 to 9999 extensions per X); lifetimes
count in ``timeUnit``. AXE has no private SMS.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import time
from typing import Any

from privatenumber import modes
from privatenumber.modes import Interface
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.exchange import InterfaceHandler
from simulator.modes.pool import drop_none, requested_area
from simulator.modes.rules import ModeRules
from simulator.results import PlatformError, invalid, missing
from simulator.routing import AXE_EMPTY_EXTENSION, AXE_NO_CALLBACK, CallRoute, stranger
from simulator.validate import Fields

CAPACITY = modes.AXE.capacity
BIND_LIFETIME = modes.AXE.lifetime_of("bindExpiredTime")
CALLBACK_LIFETIME = modes.AXE.lifetime_of("callbackExpiredTime")
EXT_RE = re.compile(r"^\d{1,4}$")
CURSOR_RE = re.compile(r"^(\d{13})_(\d{1,20})$")


class AxeRules(ModeRules):
    """AXE bindings: bind, modify, query (v1.0, v2.0), count and unbind; calls by extension."""

    mode = modes.AXE
    kinds = ("AXE",)
    call_kind = "AXE"

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        return {
            modes.AXE_BIND: self.bind,
            modes.AXE_MODIFY: self.modify,
            modes.AXE_QUERY: self.query,
            modes.AXE_QUERY_V2: self.query_v2,
            modes.AXE_BINDING_COUNT: self.binding_count,
            modes.AXE_UNBIND: self.unbind,
        }

    # --- interfaces (spec §5.3, §5.4.5) ----------------------------------------------------------

    def _fields(self, f: Fields) -> dict[str, Any]:
        display = f.string("displayNumMode", choices=("0", "1"))
        if display is None:  # Huawei's C# sample calls it calleeNumDisplay; accept both.
            display = f.string("calleeNumDisplay", choices=("0", "1"))
        fields = {
            "displayNumMode": display,
            "recordFlag": f.flag("recordFlag"),
            "recordHintTone": f.string("recordHintTone", max_len=128),
            "callbackNum": f.number("callbackNum"),
            "callbackTone": f.string("callbackTone", max_len=128),
            "timeUnit": f.string("timeUnit", choices=("0", "1")),
            "bindExpiredTime": f.integer("bindExpiredTime", lo=0, hi=BIND_LIFETIME.longest),
            "callbackExpiredTime": f.integer(
                "callbackExpiredTime", lo=0, hi=CALLBACK_LIFETIME.longest
            ),
            "userData": f.user_data(),
        }
        if fields["callbackNum"] is not None and fields["callbackTone"] is not None:
            raise invalid("callbackTone")
        return fields

    def bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Create AXE binding (§5.3.1): the extension given, or a free one at random."""
        a = f.req_number("bindNum")
        x = f.number("virtualNum")
        ext = f.string("extendNum", min_len=0, max_len=4)
        area, loose = requested_area(f)
        fields = self._fields(f)
        length = app.extension_length
        capacity = CAPACITY.extensions_per_x(length)
        if ext and (not EXT_RE.match(ext) or len(ext) != length or int(ext) == 0):
            raise invalid("extendNum")

        def fits(number: str) -> bool:
            if db.execute(
                "SELECT 1 FROM bindings WHERE x=? AND a=? AND kind='AXE'", (number, a)
            ).fetchone():
                return False
            return (
                not ext
                or not db.execute(
                    "SELECT 1 FROM bindings WHERE x=? AND ext=?", (number, ext)
                ).fetchone()
            )

        with self.store.tx() as db:
            self.pool.sweep(db)
            if x is not None:
                number = self.pool.own_x(db, app, x)
                if db.execute(
                    "SELECT 1 FROM bindings WHERE x=? AND a=? AND kind='AXE'", (x, a)
                ).fetchone():
                    raise PlatformError(unconfirmed.AXE_SAME_A_CODE)
                if not fits(x) or number["x_used"] >= capacity:
                    raise PlatformError(unconfirmed.AXE_TAKEN_CODE)  # no idle extension
            else:
                x = self.pool.choose(
                    db, app, area, loose, fits, capacity_sql=f"x_used < {capacity}"
                )
            if not ext:
                ext = self._free_extension(db, x, length, capacity)
            # The query shows timeUnit/bindExpiredTime of the bind call, even after a modify.
            fields["shownTimeUnit"] = fields["timeUnit"]
            fields["shownBindExpiredTime"] = fields["bindExpiredTime"]
            expires = self.pool.expiry(
                BIND_LIFETIME.seconds(fields["bindExpiredTime"], fields["timeUnit"])
            )
            binding_id = self.pool.insert(
                db, app, "AXE", x=x, a=a, ext=ext, data=fields, expires=expires
            )
        return {"subscriptionId": binding_id, "virtualNum": x, "extendNum": ext, "bindNum": a}

    @staticmethod
    def _free_extension(db: sqlite3.Connection, x: str, length: int, capacity: int) -> str:
        used = {
            int(r[0])
            for r in db.execute("SELECT ext FROM bindings WHERE x=? AND ext IS NOT NULL", (x,))
        }
        for _ in range(16):
            candidate = random.randint(1, capacity)
            if candidate not in used:
                return str(candidate).zfill(length)
        free = [n for n in range(1, capacity + 1) if n not in used]
        if not free:
            raise PlatformError(unconfirmed.AXE_TAKEN_CODE)  # no idle extension
        return str(random.choice(free)).zfill(length)

    def _find(self, db: sqlite3.Connection, app: AppConfig, f: Fields) -> sqlite3.Row | None:
        binding_id = f.string("subscriptionId", min_len=0, max_len=64) or None
        x = f.number("virtualNum")
        ext = f.string("extendNum", max_len=4)
        if binding_id is not None:
            return self.pool.binding(db, app, binding_id, ("AXE",))
        if x is not None and ext is None:
            raise missing("extendNum")
        if ext is not None and x is None:
            raise missing("virtualNum")
        if x is None:
            raise missing("subscriptionId")
        return db.execute(
            "SELECT * FROM bindings WHERE x=? AND ext=? AND kind='AXE' AND app_key=?",
            (x, ext, app.app_key),
        ).fetchone()

    def modify(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Modify AXE binding (§5.3.2), by id or X + extension."""
        fields = self._fields(f)
        with self.store.tx() as db:
            self.pool.sweep(db)
            row = self._find(db, app, f)
            if row is None:
                raise PlatformError("1016001")
            data = json.loads(row["data"])
            columns: dict[str, Any] = {}
            if fields["bindExpiredTime"] is not None:
                unit = fields["timeUnit"] or data.get("timeUnit")
                seconds = BIND_LIFETIME.seconds(fields["bindExpiredTime"], unit)
                columns["expires"] = self.pool.expiry(seconds)
            if fields["callbackNum"] is not None:
                fields["callbackTone"] = None
                data.pop("callbackTone", None)
            self.pool.update(db, row, fields, columns=columns)
        return {}

    def _item(self, row: sqlite3.Row) -> dict[str, Any]:
        data = json.loads(row["data"])
        record = data.get("recordFlag", "false")
        return drop_none(
            {
                "subscriptionId": row["id"],
                "virtualNum": row["x"],
                "extendNum": row["ext"],
                "bindNum": row["a"],
                "displayNumMode": data.get("displayNumMode", "0"),
                "recordFlag": record,
                "recordHintTone": data.get("recordHintTone") if record == "true" else None,
                "callbackTone": data.get("callbackTone"),
                "callbackNum": data.get("callbackNum"),
                "timeUnit": data.get("shownTimeUnit") or unconfirmed.AXE_DEFAULT_TIME_UNIT,
                "bindExpiredTime": data.get("shownBindExpiredTime"),
                "callbackExpiredTime": data.get("callbackExpiredTime"),
                "userData": data.get("userData"),
            }
        )

    def query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Query AXE binding v1.0 (§5.3.3), by id or X + extension."""
        with self.store.tx() as db:
            self.pool.sweep(db)
            row = self._find(db, app, f)
        if row is None:
            raise PlatformError("1016001")
        return self._item(row)

    def query_v2(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Query AXE bindings v2.0 (§5.3.4): one, or all with a cursor."""
        binding_id = f.string("subscriptionId", min_len=0, max_len=64) or None
        x = f.number("virtualNum")
        ext = f.string("extendNum", max_len=4)
        cursor = f.string("cursor", max_len=40, pattern=CURSOR_RE)
        limit = f.integer("limit")
        if not limit or not 1 <= limit <= unconfirmed.AXE_V2_MAX_LIMIT:
            limit = unconfirmed.AXE_V2_DEFAULT_LIMIT
        with self.store.tx() as db:
            self.pool.sweep(db)
            if binding_id is not None or ext is not None:
                row = self._find(db, app, f)
                if row is None:
                    raise PlatformError("1016001")
                return {unconfirmed.AXE_V2_LIST_FIELD: [self._item(row)]}
            # The cursor is "<created ms>_<seq>" of the last binding already listed.
            if cursor is None or cursor == unconfirmed.AXE_V2_FIRST_CURSOR:
                after = 0
            else:
                after = int(cursor.rpartition("_")[2])
            where, args = "kind='AXE' AND app_key=? AND seq>?", [app.app_key, after]
            if x is not None:
                where, args = where + " AND x=?", [*args, x]
            rows = db.execute(
                f"SELECT * FROM bindings WHERE {where} ORDER BY seq LIMIT ?",  # noqa: S608
                (*args, limit + 1),
            ).fetchall()
        body: dict[str, Any] = {
            unconfirmed.AXE_V2_LIST_FIELD: [self._item(r) for r in rows[:limit]]
        }
        if len(rows) > limit:
            last = rows[limit - 1]
            body[unconfirmed.AXE_V2_CURSOR_FIELD] = (
                f"{int(last['created'] * 1000):013d}_{last['seq']}"
            )
        return body

    def binding_count(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """QueryAXEBindingCount (§5.4.5): live AXE bindings per X, one number or page by page."""
        number = f.number("number")
        cursor = f.string("cursor", max_len=20, pattern=re.compile(r"^\d{1,20}$"))
        limit = f.integer("limit")
        if not limit or not (
            unconfirmed.AXE_COUNT_LIMIT_RANGE[0] <= limit <= unconfirmed.AXE_COUNT_LIMIT_RANGE[1]
        ):
            limit = unconfirmed.AXE_COUNT_DEFAULT_LIMIT
        with self.store.tx() as db:
            self.pool.sweep(db)
            if number is not None:
                rows = db.execute(
                    "SELECT rowid AS seq_no, number, x_used FROM numbers "
                    "WHERE number=? AND app_key=?",
                    (number, app.app_key),
                ).fetchall()
                if not rows:
                    raise PlatformError(unconfirmed.AXE_COUNT_FOREIGN_NUMBER_CODE)
                more = False
            else:
                # The cursor is the rowid of the last number already listed.
                after = int(cursor or unconfirmed.AXE_COUNT_FIRST_CURSOR)
                rows = db.execute(
                    "SELECT rowid AS seq_no, number, x_used FROM numbers "
                    "WHERE app_key=? AND rowid>? ORDER BY rowid LIMIT ?",
                    (app.app_key, after, limit + 1),
                ).fetchall()
                more = len(rows) > limit
                rows = rows[:limit]
        body: dict[str, Any] = {
            unconfirmed.AXE_COUNT_LIST_FIELD: [
                {
                    unconfirmed.AXE_COUNT_NUMBER_FIELD: row["number"],
                    unconfirmed.AXE_COUNT_COUNT_FIELD: row["x_used"],
                }
                for row in rows
            ]
        }
        if more:
            body[unconfirmed.AXE_COUNT_CURSOR_FIELD] = str(rows[-1]["seq_no"])
        return body

    def unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Delete AXE binding (§5.3.5), by id or X + extension."""
        with self.store.tx() as db:
            self.pool.sweep(db)
            row = self._find(db, app, f)
            if row is None:
                raise PlatformError("1016001")
            self.pool.delete(db, row)
        return {}

    def forget(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """An AXE binding takes its callback records with it."""
        db.execute("DELETE FROM callbacks WHERE x=? AND a=?", (row["x"], row["a"]))

    # --- calls -----------------------------------------------------------------------------------

    def route_call(self, db: sqlite3.Connection, route: CallRoute) -> None:
        own = db.execute(
            "SELECT * FROM bindings WHERE x=? AND a=? AND kind='AXE'", (route.dialled, route.caller)
        ).fetchone()
        if own is not None and not route.ext:
            # A calls X: back to whoever last called A through X, else callbackNum / callbackTone.
            data = json.loads(own["data"])
            route.use(own, data)
            route.direction = 1
            back = db.execute(
                "SELECT caller FROM callbacks WHERE x=? AND a=? AND (expires IS NULL OR expires>?)",
                (route.dialled, route.caller, time.time()),
            ).fetchone()
            route.callee = back["caller"] if back else data.get("callbackNum")
            if route.callee is None:
                route.failure = AXE_NO_CALLBACK
            return
        if not route.ext:
            route.failure = AXE_EMPTY_EXTENSION
            return
        row = db.execute(
            "SELECT * FROM bindings WHERE x=? AND ext=? AND kind='AXE'", (route.dialled, route.ext)
        ).fetchone()
        if row is None:
            route.failure = self.no_binding
            return
        data = json.loads(row["data"])
        route.use(row, data)
        route.callee, route.direction = row["a"], 0
        if data.get("displayNumMode") == "1":
            route.display = route.caller
        seconds = CALLBACK_LIFETIME.seconds(data.get("callbackExpiredTime"), data.get("timeUnit"))
        db.execute(
            "INSERT OR REPLACE INTO callbacks (x, a, caller, expires) VALUES (?, ?, ?, ?)",
            (route.dialled, row["a"], route.caller, self.pool.expiry(seconds)),
        )

    def bulk_parties(self, row: sqlite3.Row, index: int) -> tuple[str, str, str | None]:
        return stranger(), row["x"], row["ext"]
