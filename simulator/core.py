"""The platform's business rules: applications, X numbers and the bindings of every mode.

Each ``<mode>_<verb>`` method is one customer-to-platform interface of spec §5. It takes the
authenticated app and the request's :class:`~simulator.validate.Fields`, validates them in the
order of the spec's tables, applies the capacity rules of spec §4 inside one locked transaction and
returns the response body (without the envelope, which the server adds). Refusals raise
:class:`~simulator.results.PlatformError`.

Durations are platform seconds; they are stored as real expiry times divided by the time scale, so
a test running at ``--time-scale 1000`` sees a 60-second binding disappear after 60 ms.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from simulator import unconfirmed
from simulator.config import AppConfig, NumberConfig, province_of
from simulator.results import PlatformError, invalid, missing
from simulator.store import Store
from simulator.validate import Fields

logger = logging.getLogger(__name__)

AXB_PAIRS_PER_X = 5000
AX_X_PER_A = 5
AXYB_RELATIONS_PER_Y = 1000
MAX_DURATION = 7776000  # 90 days
CITY_RE = re.compile(r"^0\d{2,3}$")
EXT_RE = re.compile(r"^\d{1,4}$")
CURSOR_RE = re.compile(r"^(\d{13})_(\d{1,20})$")
USABLE = "5"  # numInfo status "normal"; 9, 10 and 11 refuse new bindings


def fmt_time(moment: float) -> str:
    """A platform time string: UTC ``yyyy-MM-dd HH:mm:ss``."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


class Platform:
    """Apps, numbers and bindings, on top of one :class:`Store`."""

    def __init__(self, store: Store, *, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.store = store
        self.time_scale = time_scale
        self._apps: dict[str, AppConfig] = {}
        self._load_apps()

    # --- time -------------------------------------------------------------------------------------

    def expiry(self, platform_seconds: float | None, *, start: float | None = None) -> float | None:
        """Real expiry time of a platform duration (None or 0 = never)."""
        if not platform_seconds:
            return None
        return (start or time.time()) + platform_seconds / self.time_scale

    # --- apps and numbers -------------------------------------------------------------------------

    def _load_apps(self) -> None:
        with self.store.tx() as db:
            rows = db.execute("SELECT config FROM apps").fetchall()
        for row in rows:
            app = AppConfig.from_dict(json.loads(row["config"]))
            self._apps[app.app_key] = app

    def app(self, app_key: str) -> AppConfig | None:
        return self._apps.get(app_key)

    def apps(self) -> list[AppConfig]:
        return list(self._apps.values())

    def put_app(self, app: AppConfig, *, replace_numbers: bool = True) -> None:
        """Add or replace an app; its numbers are added (and, by default, the old ones dropped).

        Moving a number to another application deletes all its bindings, as on the platform.
        """
        with self.store.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO apps (app_key, config) VALUES (?, ?)",
                (app.app_key, json.dumps(app.to_dict(with_numbers=False))),
            )
            if replace_numbers:
                keep = {n.number for n in app.numbers}
                old = db.execute(
                    "SELECT number FROM numbers WHERE app_key=?", (app.app_key,)
                ).fetchall()
                for row in old:
                    if row["number"] not in keep:
                        self._drop_number(db, row["number"])
            self._add_numbers(db, app.app_key, app.numbers)
            self._apps[app.app_key] = app

    def add_numbers(self, app_key: str, numbers: Iterable[NumberConfig]) -> None:
        with self.store.tx() as db:
            self._add_numbers(db, app_key, list(numbers))

    def _add_numbers(
        self, db: sqlite3.Connection, app_key: str, numbers: list[NumberConfig]
    ) -> None:
        for number in numbers:
            row = db.execute(
                "SELECT app_key FROM numbers WHERE number=?", (number.number,)
            ).fetchone()
            if row and row["app_key"] != app_key:
                self._drop_number(db, number.number)
                row = None
            if row:
                db.execute(
                    "UPDATE numbers SET city=?, province=?, status=? WHERE number=?",
                    (number.city, number.province, number.status, number.number),
                )
            else:
                db.execute(
                    "INSERT INTO numbers (number, app_key, city, province, status) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (number.number, app_key, number.city, number.province, number.status),
                )

    def _drop_number(self, db: sqlite3.Connection, number: str) -> None:
        for row in db.execute(
            "SELECT * FROM bindings WHERE x=? OR y=?", (number, number)
        ).fetchall():
            self._delete(db, row)
        db.execute("DELETE FROM numbers WHERE number=?", (number,))

    def set_number_status(self, number: str, status: str, cause: str | None) -> str:
        """Change an X number's status; returns the owning app_key."""
        if status not in ("5", "9", "10", "11"):
            raise ValueError("status must be 5, 9, 10 or 11")
        with self.store.tx() as db:
            row = db.execute("SELECT app_key FROM numbers WHERE number=?", (number,)).fetchone()
            if row is None:
                raise KeyError(number)
            db.execute(
                "UPDATE numbers SET status=?, cause=? WHERE number=?",
                (status, cause if status == "10" else None, number),
            )
            return row["app_key"]

    # --- shared binding machinery -----------------------------------------------------------------

    def sweep(self, db: sqlite3.Connection | None = None) -> int:
        """Remove bindings whose time is up (the platform unbinds them itself)."""
        if db is None:
            with self.store.tx() as db:
                return self.sweep(db)
        now = time.time()
        rows = db.execute(
            "SELECT * FROM bindings WHERE expires IS NOT NULL AND expires <= ?", (now,)
        ).fetchall()
        for row in rows:
            self._delete(db, row)
        db.execute("DELETE FROM callbacks WHERE expires IS NOT NULL AND expires <= ?", (now,))
        if rows:
            logger.info("expired %d binding(s)", len(rows))
        return len(rows)

    def _delete(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """Delete one binding (an AXYB AX part takes its YB relations with it)."""
        gone = db.execute("DELETE FROM bindings WHERE id=?", (row["id"],)).rowcount
        if not gone:
            return
        if row["kind"] == "YB":
            db.execute("UPDATE numbers SET y_used=y_used-1 WHERE number=?", (row["y"],))
            return
        db.execute("UPDATE numbers SET x_used=x_used-1 WHERE number=?", (row["x"],))
        if row["kind"] == "AXYB":
            for child in db.execute(
                "SELECT * FROM bindings WHERE parent=?", (row["id"],)
            ).fetchall():
                self._delete(db, child)
        if row["kind"] == "AXE":
            db.execute("DELETE FROM callbacks WHERE x=? AND a=?", (row["x"], row["a"]))

    def _insert(
        self,
        db: sqlite3.Connection,
        app: AppConfig,
        kind: str,
        *,
        x: str,
        a: str,
        data: dict[str, Any],
        expires: float | None,
        b: str | None = None,
        y: str | None = None,
        ext: str | None = None,
        parent: str | None = None,
    ) -> str:
        binding_id = uuid.uuid4().hex
        now = time.time()
        db.execute(
            "INSERT INTO bindings (id, seq, app_key, kind, x, a, b, y, ext, parent, created, "
            "modified, expires, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                binding_id,
                self.store.next_seq(),
                app.app_key,
                kind,
                x,
                a,
                b,
                y,
                ext,
                parent,
                now,
                now,
                expires,
                json.dumps(_drop_none(data)),
            ),
        )
        if kind == "YB":
            db.execute("UPDATE numbers SET y_used=y_used+1 WHERE number=?", (y,))
        else:
            db.execute("UPDATE numbers SET x_used=x_used+1 WHERE number=?", (x,))
        return binding_id

    def _update(
        self,
        db: sqlite3.Connection,
        row: sqlite3.Row,
        changes: dict[str, Any],
        *,
        columns: dict[str, Any] | None = None,
    ) -> None:
        data = json.loads(row["data"])
        data.update(_drop_none(changes))
        sets = {"data": json.dumps(data), "modified": time.time(), **(columns or {})}
        assignments = ", ".join(f"{name}=?" for name in sets)
        db.execute(
            f"UPDATE bindings SET {assignments} WHERE id=?",  # noqa: S608 - names are ours
            (*sets.values(), row["id"]),
        )

    def _own_x(self, db: sqlite3.Connection, app: AppConfig, x: str) -> sqlite3.Row:
        """The number row of an X the app names, refused if it is not the app's or not usable."""
        row = db.execute(
            "SELECT * FROM numbers WHERE number=? AND app_key=?", (x, app.app_key)
        ).fetchone()
        if row is None:
            raise PlatformError("1012001")
        if row["status"] != USABLE:
            raise PlatformError(unconfirmed.X_NOT_USABLE_CODE)
        return row

    def _choose(
        self,
        db: sqlite3.Connection,
        app: AppConfig,
        area_code: str | None,
        loose: bool,
        fits: Callable[[str], bool],
        *,
        capacity_sql: str,
    ) -> str:
        """Pick a free X at random: strict = only the city; loose = city, province, then any."""
        if area_code is None and not unconfirmed.NO_AREA_PICKS_ANY:
            raise missing("areaCode")
        if area_code is None:
            tiers: list[tuple[str, tuple[Any, ...]]] = [("", ())]
        elif not loose:
            tiers = [("AND city=?", (area_code,))]
        else:
            province = db.execute(
                "SELECT province FROM numbers WHERE city=? LIMIT 1", (area_code,)
            ).fetchone()
            tiers = []
            if unconfirmed.LOOSE_TRIES_CITY_FIRST:
                tiers.append(("AND city=?", (area_code,)))
            tiers.append(
                ("AND province=?", (province["province"] if province else province_of(area_code),))
            )
            tiers.append(("", ()))
        tried: set[str] = set()
        for condition, args in tiers:
            numbers = [
                r[0]
                for r in db.execute(
                    "SELECT number FROM numbers WHERE app_key=? AND status=? "  # noqa: S608
                    f"AND {capacity_sql} {condition}",
                    (app.app_key, USABLE, *args),
                )
                if r[0] not in tried
            ]
            random.shuffle(numbers)
            for number in numbers:
                tried.add(number)
                if fits(number):
                    return number
        raise PlatformError("1012008")

    @staticmethod
    def _area(f: Fields) -> tuple[str | None, bool]:
        area = f.string("areaCode", max_len=8, pattern=CITY_RE)
        mode = f.string("areaMatchMode", choices=("0", "1"))
        return area, mode == "1"

    def _binding(
        self, db: sqlite3.Connection, app: AppConfig, binding_id: str, kinds: tuple[str, ...]
    ) -> sqlite3.Row | None:
        row = db.execute("SELECT * FROM bindings WHERE id=?", (binding_id,)).fetchone()
        if row is None or row["kind"] not in kinds or row["app_key"] != app.app_key:
            return None
        return row

    # --- AXB (spec §5.1) --------------------------------------------------------------------------

    def _axb_fields(self, f: Fields) -> dict[str, Any]:
        return {
            "callDirection": f.integer("callDirection", lo=0, hi=2),
            "duration": f.integer("duration", lo=0, hi=MAX_DURATION),
            "recordFlag": f.flag("recordFlag"),
            "recordHintTone": f.string("recordHintTone", max_len=128),
            "maxDuration": f.integer("maxDuration", lo=0, hi=1440),
            "lastMinVoice": f.string("lastMinVoice", min_len=0, max_len=128),
            "privateSms": f.flag("privateSms"),
            "preVoice": f.play_info("preVoice"),
            "userData": f.user_data(),
        }

    def _axb_conflict(
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

    def axb_bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        x = f.number("relationNum")
        area, loose = self._area(f)
        a = f.req_number("callerNum")
        b = f.req_number("calleeNum")
        fields = self._axb_fields(f)
        if a == b:
            raise invalid("calleeNum")
        with self.store.tx() as db:
            self.sweep(db)
            if x is not None:
                number = self._own_x(db, app, x)
                taken = self._axb_conflict(db, x, (a, b))
                if taken:
                    raise PlatformError("1012010", f"The number {taken} has been bound.")
                if number["x_used"] >= AXB_PAIRS_PER_X:
                    raise PlatformError(unconfirmed.AXB_X_FULL_CODE)
            else:
                x = self._choose(
                    db,
                    app,
                    area,
                    loose,
                    lambda n: self._axb_conflict(db, n, (a, b)) is None,
                    capacity_sql=f"x_used < {AXB_PAIRS_PER_X}",
                )
            binding_id = self._insert(
                db, app, "AXB", x=x, a=a, b=b, data=fields, expires=self.expiry(fields["duration"])
            )
        return _drop_none(
            {
                "subscriptionId": binding_id,
                "relationNum": x,
                "callerNum": a,
                "calleeNum": b,
                "userData": fields["userData"],
            }
        )

    def axb_modify(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        binding_id = f.req_string("subscriptionId", max_len=64)
        a = f.number("callerNum")
        b = f.number("calleeNum")
        fields = self._axb_fields(f)
        with self.store.tx() as db:
            self.sweep(db)
            row = self._binding(db, app, binding_id, ("AXB",))
            if row is None:
                raise PlatformError("1016001")
            new_a, new_b = a or row["a"], b or row["b"]
            if new_a == new_b:
                # Name the field this request sent: a new A equal to B is callerNum's fault.
                raise invalid("callerNum" if a is not None and b is None else "calleeNum")
            changed = tuple(n for n in (a, b) if n is not None and n not in (row["a"], row["b"]))
            taken = changed and self._axb_conflict(db, row["x"], changed, exclude=row["id"])
            if taken:
                raise PlatformError("1012010", f"The number {taken} has been bound.")
            columns: dict[str, Any] = {"a": new_a, "b": new_b}
            if fields["duration"] is not None:
                # The new lifetime counts from the modification (spec §5.1.2).
                columns["expires"] = self.expiry(fields["duration"])
            self._update(db, row, fields, columns=columns)
        return {}

    def _axb_item(self, row: sqlite3.Row) -> dict[str, Any]:
        data = json.loads(row["data"])
        return _drop_none(
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

    def axb_query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        x = f.number("relationNum")
        binding_id = f.string("subscriptionId", max_len=64)
        a = f.number("callerNum")
        b = f.number("calleeNum")
        page = f.integer("pageIndex")
        size = f.integer("pageSize")
        page = page if page and page >= 1 else 1
        size = size if size and 10 <= size <= 100 else 50
        with self.store.tx() as db:
            self.sweep(db)
            if binding_id is not None:
                row = self._binding(db, app, binding_id, ("AXB",))
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
            "relationNumList": [self._axb_item(r) for r in rows],
        }

    def axb_unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        binding_id = f.string("subscriptionId", max_len=64)
        x = f.number("relationNum")
        with self.store.tx() as db:
            self.sweep(db)
            if binding_id is not None:
                row = db.execute("SELECT * FROM bindings WHERE id=?", (binding_id,)).fetchone()
                if row is None:
                    raise PlatformError("1016001")
                if row["app_key"] != app.app_key or row["kind"] != "AXB":
                    raise PlatformError("1012001")
                self._delete(db, row)
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
                    self._delete(db, row)
            else:
                raise missing("subscriptionId")
        return {}

    # --- AX (spec §5.2) ---------------------------------------------------------------------------

    def _ax_fields(self, f: Fields) -> dict[str, Any]:
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

    def ax_bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        a = f.req_number("origNum")
        x = f.number("privateNum")
        num_type = f.string("privateNumType", max_len=32)
        area, loose = self._area(f)
        fields = self._ax_fields(f)
        if (
            x is None
            and area is not None
            and num_type is None
            and unconfirmed.AX_REQUIRE_PRIVATE_NUM_TYPE
        ):
            raise missing("privateNumType")
        with self.store.tx() as db:
            self.sweep(db)
            if x is not None:
                number = self._own_x(db, app, x)
                if db.execute(
                    "SELECT 1 FROM bindings WHERE x=? AND a=? AND kind='AX'", (x, a)
                ).fetchone():
                    raise PlatformError("1016002")
                if number["x_used"]:
                    raise PlatformError(unconfirmed.AX_X_TAKEN_CODE)
            held = db.execute(
                "SELECT COUNT(*) FROM bindings WHERE a=? AND kind='AX' AND app_key=?",
                (a, app.app_key),
            ).fetchone()[0]
            if held >= AX_X_PER_A:
                raise PlatformError("1011003")
            if x is None:
                x = self._choose(db, app, area, loose, lambda n: True, capacity_sql="x_used = 0")
            binding_id = self._insert(db, app, "AX", x=x, a=a, data=fields, expires=None)
        return {"origNum": a, "privateNum": x, "subscriptionId": binding_id}

    def _ax_find(self, db: sqlite3.Connection, app: AppConfig, f: Fields) -> sqlite3.Row:
        binding_id = f.string("subscriptionId", max_len=64)
        a = f.number("origNum")
        x = f.number("privateNum")
        if binding_id is not None:
            row = self._binding(db, app, binding_id, ("AX",))
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

    def ax_modify(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        with self.store.tx() as db:
            self.sweep(db)
            row = self._ax_find(db, app, f)
            self._update(db, row, self._ax_fields(f))
        return {}

    def _ax_item(self, row: sqlite3.Row) -> dict[str, Any]:
        data = json.loads(row["data"])
        callee = data.get("tempCallee")
        if callee and (data.get("tempExpires") or 0) <= time.time():
            callee = None
        return _drop_none(
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

    def ax_query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        binding_id = f.string("subscriptionId", max_len=64)
        a = f.number("origNum")
        x = f.number("privateNum")
        with self.store.tx() as db:
            self.sweep(db)
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
        return {"privateNumList": [self._ax_item(r) for r in rows]}

    def ax_unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        binding_id = f.string("subscriptionId", max_len=64)
        x = f.number("privateNum")
        f.number("origNum")  # may be sent; the platform ignores it
        with self.store.tx() as db:
            self.sweep(db)
            if binding_id is not None:
                row = self._binding(db, app, binding_id, ("AX",))
            elif x is not None:
                row = db.execute(
                    "SELECT * FROM bindings WHERE x=? AND kind='AX' AND app_key=?",
                    (x, app.app_key),
                ).fetchone()
            else:
                raise missing("subscriptionId")
            if row is None:
                raise PlatformError(unconfirmed.AX_UNBIND_NOT_FOUND_CODE)
            self._delete(db, row)
        return {}

    def ax_set_callee(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        a = f.req_number("origNum")
        x = f.req_number("privateNum")
        callee = f.req_number("calleeNum")
        duration = f.integer("duration", lo=1, hi=259200)
        user_data = f.user_data()
        if callee == a:
            raise invalid("calleeNum")
        seconds = duration or unconfirmed.AX_TEMP_CALLEE_DEFAULT_SECONDS
        with self.store.tx() as db:
            self.sweep(db)
            row = db.execute(
                "SELECT * FROM bindings WHERE x=? AND a=? AND kind='AX' AND app_key=?",
                (x, a, app.app_key),
            ).fetchone()
            if row is None:
                raise PlatformError("1016001")
            self._update(
                db,
                row,
                {
                    "tempCallee": callee,
                    "tempExpires": self.expiry(seconds),
                    "tempUserData": user_data,
                },
            )
        return {}

    # --- AXE (spec §5.3) --------------------------------------------------------------------------

    def _axe_fields(self, f: Fields) -> dict[str, Any]:
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
            "bindExpiredTime": f.integer("bindExpiredTime", lo=0, hi=MAX_DURATION),
            "callbackExpiredTime": f.integer("callbackExpiredTime", lo=0, hi=MAX_DURATION),
            "userData": f.user_data(),
        }
        if fields["callbackNum"] is not None and fields["callbackTone"] is not None:
            raise invalid("callbackTone")
        return fields

    @staticmethod
    def _axe_seconds(value: int | None, unit: str | None) -> int | None:
        if not value:
            return None
        unit = unit or unconfirmed.AXE_DEFAULT_TIME_UNIT
        return value * (3600 if unit == "0" else 60)

    def axe_bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        a = f.req_number("bindNum")
        x = f.number("virtualNum")
        ext = f.string("extendNum", min_len=0, max_len=4)
        area, loose = self._area(f)
        fields = self._axe_fields(f)
        length = app.extension_length
        capacity = 10**length - 1
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
            self.sweep(db)
            if x is not None:
                number = self._own_x(db, app, x)
                if db.execute(
                    "SELECT 1 FROM bindings WHERE x=? AND a=? AND kind='AXE'", (x, a)
                ).fetchone():
                    raise PlatformError(unconfirmed.AXE_SAME_A_CODE)
                if not fits(x) or number["x_used"] >= capacity:
                    raise PlatformError(unconfirmed.AXE_TAKEN_CODE)  # no idle extension
            else:
                x = self._choose(db, app, area, loose, fits, capacity_sql=f"x_used < {capacity}")
            if not ext:
                ext = self._free_extension(db, x, length, capacity)
            # The query shows timeUnit/bindExpiredTime of the bind call, even after a modify.
            fields["shownTimeUnit"] = fields["timeUnit"]
            fields["shownBindExpiredTime"] = fields["bindExpiredTime"]
            expires = self.expiry(self._axe_seconds(fields["bindExpiredTime"], fields["timeUnit"]))
            binding_id = self._insert(
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

    def _axe_find(self, db: sqlite3.Connection, app: AppConfig, f: Fields) -> sqlite3.Row | None:
        binding_id = f.string("subscriptionId", min_len=0, max_len=64) or None
        x = f.number("virtualNum")
        ext = f.string("extendNum", max_len=4)
        if binding_id is not None:
            return self._binding(db, app, binding_id, ("AXE",))
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

    def axe_modify(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        fields = self._axe_fields(f)
        with self.store.tx() as db:
            self.sweep(db)
            row = self._axe_find(db, app, f)
            if row is None:
                raise PlatformError("1016001")
            data = json.loads(row["data"])
            columns: dict[str, Any] = {}
            if fields["bindExpiredTime"] is not None:
                unit = fields["timeUnit"] or data.get("timeUnit")
                seconds = self._axe_seconds(fields["bindExpiredTime"], unit)
                columns["expires"] = self.expiry(seconds)
            if fields["callbackNum"] is not None:
                fields["callbackTone"] = None
                data.pop("callbackTone", None)
            self._update(db, row, fields, columns=columns)
        return {}

    def _axe_item(self, row: sqlite3.Row) -> dict[str, Any]:
        data = json.loads(row["data"])
        record = data.get("recordFlag", "false")
        return _drop_none(
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

    def axe_query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        with self.store.tx() as db:
            self.sweep(db)
            row = self._axe_find(db, app, f)
        if row is None:
            raise PlatformError("1016001")
        return self._axe_item(row)

    def axe_query_v2(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        binding_id = f.string("subscriptionId", min_len=0, max_len=64) or None
        x = f.number("virtualNum")
        ext = f.string("extendNum", max_len=4)
        cursor = f.string("cursor", max_len=40, pattern=CURSOR_RE)
        limit = f.integer("limit")
        if not limit or not 1 <= limit <= unconfirmed.AXE_V2_MAX_LIMIT:
            limit = unconfirmed.AXE_V2_DEFAULT_LIMIT
        with self.store.tx() as db:
            self.sweep(db)
            if binding_id is not None or ext is not None:
                row = self._axe_find(db, app, f)
                if row is None:
                    raise PlatformError("1016001")
                return {unconfirmed.AXE_V2_LIST_FIELD: [self._axe_item(row)]}
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
            unconfirmed.AXE_V2_LIST_FIELD: [self._axe_item(r) for r in rows[:limit]]
        }
        if len(rows) > limit:
            last = rows[limit - 1]
            body[unconfirmed.AXE_V2_CURSOR_FIELD] = (
                f"{int(last['created'] * 1000):013d}_{last['seq']}"
            )
        return body

    def axe_binding_count(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """QueryAXEBindingCount (§5.4.5): live AXE bindings per X, one number or page by page."""
        number = f.number("number")
        cursor = f.string("cursor", max_len=20, pattern=re.compile(r"^\d{1,20}$"))
        limit = f.integer("limit")
        if not limit or not (
            unconfirmed.AXE_COUNT_LIMIT_RANGE[0] <= limit <= unconfirmed.AXE_COUNT_LIMIT_RANGE[1]
        ):
            limit = unconfirmed.AXE_COUNT_DEFAULT_LIMIT
        with self.store.tx() as db:
            self.sweep(db)
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

    def axe_unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        with self.store.tx() as db:
            self.sweep(db)
            row = self._axe_find(db, app, f)
            if row is None:
                raise PlatformError("1016001")
            self._delete(db, row)
        return {}

    # --- AXYB (spec §5.4) -------------------------------------------------------------------------

    @staticmethod
    def _axyb_duration(f: Fields, name: str) -> int | None:
        value = f.integer(name, lo=0, hi=MAX_DURATION)
        if value is not None and 0 < value < 60:
            raise invalid(name)
        return value

    def _axyb_fields(self, f: Fields) -> dict[str, Any]:
        return {
            "callDirection": f.integer("callDirection", lo=0, hi=2),
            "duration": self._axyb_duration(f, "duration"),
            "ybDuration": self._axyb_duration(f, "ybDuration"),
            "recordFlag": f.flag("recordFlag"),
            "recordHintTone": f.string("recordHintTone", max_len=128),
            "preVoiceX": f.string("preVoiceX", max_len=128),
            "preVoiceY": f.string("preVoiceY", max_len=128),
            "userData": f.user_data(),
        }

    def axyb_bind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Both steps (§5.4.1): ``origNum`` is A, or B with the AX ``subscriptionId``.

        The request names no X and no Y: they are chosen in ``areaCode`` and answered as
        ``relationNumber``.
        """
        parent_id = f.string("subscriptionId", max_len=64)
        if parent_id is not None:
            return self._axyb_bind_yb(app, f, parent_id)
        a = f.req_number("origNum")
        area, loose = self._area(f)
        fields = self._axyb_fields(f)
        with self.store.tx() as db:
            self.sweep(db)
            held = db.execute(
                "SELECT COUNT(*) FROM bindings WHERE a=? AND kind='AXYB' AND app_key=?",
                (a, app.app_key),
            ).fetchone()[0]
            if held >= AX_X_PER_A:
                raise PlatformError("1011003")
            x = self._choose(
                db, app, area, loose, lambda n: True, capacity_sql="x_used = 0 AND y_used = 0"
            )
            binding_id = self._insert(
                db, app, "AXYB", x=x, a=a, data=fields, expires=self.expiry(fields["duration"])
            )
        return {"subscriptionId": binding_id, "relationNumber": x}

    def _axyb_bind_yb(self, app: AppConfig, f: Fields, parent_id: str) -> dict[str, Any]:
        b = f.req_number("origNum")
        area, loose = self._area(f)
        yb_duration = self._axyb_duration(f, "ybDuration")
        user_data = f.user_data()
        self._axyb_fields(f)  # the rest is validated; the AX step's settings stay in force
        with self.store.tx() as db:
            self.sweep(db)
            parent = self._binding(db, app, parent_id, ("AXYB",))
            if parent is None:
                raise PlatformError("1016001")
            if b == parent["a"]:
                raise invalid("origNum")
            binding_id, y = self.bind_yb(
                db,
                app,
                parent,
                b,
                None,
                area,
                loose,
                yb_duration,
                user_data,
            )
        return {"subscriptionId": binding_id, "relationNumber": y}

    def bind_yb(
        self,
        db: sqlite3.Connection,
        app: AppConfig,
        parent: sqlite3.Row,
        b: str,
        y: str | None,
        area: str | None = None,
        loose: bool = True,
        yb_duration: int | None = None,
        user_data: str | None = None,
    ) -> tuple[str, str]:
        """Add a YB relation to an AXYB binding (also used when B calls X unbound)."""
        data = json.loads(parent["data"])
        used = {r[0] for r in db.execute("SELECT y FROM bindings WHERE parent=?", (parent["id"],))}

        def fits(number: str) -> bool:
            return number not in used and number != parent["x"]

        if y is not None:
            number = self._own_x(db, app, y)
            if not fits(y):
                raise PlatformError("1012010", f"The number {y} has been bound.")
            if number["x_used"]:
                raise PlatformError(unconfirmed.X_NOT_USABLE_CODE)
            if number["y_used"] >= AXYB_RELATIONS_PER_Y:
                raise PlatformError("1011003")
        else:
            y = self._choose(
                db,
                app,
                area,
                loose,
                fits,
                capacity_sql=f"x_used = 0 AND y_used < {AXYB_RELATIONS_PER_Y}",
            )
        seconds = yb_duration if yb_duration is not None else data.get("ybDuration")
        expires = self.expiry(seconds)
        if parent["expires"] is not None and (expires is None or expires > parent["expires"]):
            expires = parent["expires"]  # a YB never outlives its AX
        binding_id = self._insert(
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

    def _axyb_items(self, db: sqlite3.Connection, row: sqlite3.Row) -> list[dict[str, Any]]:
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
                _drop_none(
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

    def _axyb_find(self, db: sqlite3.Connection, app: AppConfig, f: Fields) -> list[sqlite3.Row]:
        binding_id = f.string("subscriptionId", max_len=64)
        number = f.number("relationNum")
        if binding_id is not None:
            row = self._binding(db, app, binding_id, ("AXYB", "YB"))
            return [row] if row else []
        if number is None:
            raise missing("relationNum")
        return db.execute(
            "SELECT * FROM bindings WHERE app_key=? AND ((kind='AXYB' AND x=?) OR "
            "(kind='YB' AND y=?)) ORDER BY seq",
            (app.app_key, number, number),
        ).fetchall()

    def axyb_query(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        with self.store.tx() as db:
            self.sweep(db)
            rows = self._axyb_find(db, app, f)
            items = [item for row in rows for item in self._axyb_items(db, row)]
        if not items:
            raise PlatformError("1016001")
        return {"xyRelationNumList": items}

    def axyb_unbind(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Unbind AX and YB, or with ``yNum`` / ``bNum`` one Y-B relation only (yNum wins)."""
        y = f.number("yNum")
        b = f.number("bNum")
        with self.store.tx() as db:
            self.sweep(db)
            rows = self._axyb_find(db, app, f)
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
                self._delete(db, row)
        return {}

    # --- for the control API and the call engine --------------------------------------------------

    def list_bindings(
        self, *, app_key: str | None = None, kind: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        with self.store.tx() as db:
            self.sweep(db)
            where, args = "1=1", []
            if app_key:
                where, args = where + " AND app_key=?", [*args, app_key]
            if kind:
                where, args = where + " AND kind=?", [*args, kind]
            rows = db.execute(
                f"SELECT * FROM bindings WHERE {where} ORDER BY seq LIMIT ?",  # noqa: S608
                (*args, limit),
            ).fetchall()
        return [
            _drop_none(
                {
                    "subscriptionId": r["id"],
                    "appKey": r["app_key"],
                    "kind": r["kind"],
                    "x": r["x"],
                    "a": r["a"],
                    "b": r["b"],
                    "y": r["y"],
                    "ext": r["ext"],
                    "parent": r["parent"],
                    "created": fmt_time(r["created"]),
                    "expires": fmt_time(r["expires"]) if r["expires"] else None,
                    "data": json.loads(r["data"]),
                }
            )
            for r in rows
        ]
