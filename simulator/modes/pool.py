"""The platform's shared pool: applications, X numbers, the binding store, choosing X, expiry.

Every mode's rules (``simulator/modes/<mode>.py``) keep their bindings here, one row each in the
store's ``bindings`` table (``kind`` AXB, AX, AXE, AXYB, or YB for an AXYB's Y–B relation), and
take their X numbers from here: :meth:`Pool.choose` picks a free one in a city as the platform's
area matching does, :meth:`Pool.own_x` checks one a request names. What goes with a binding when
it is deleted is its mode's business (:meth:`Pool.forget`).

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
from simulator.results import PlatformError, missing
from simulator.store import Store
from simulator.validate import Fields

logger = logging.getLogger(__name__)

CITY_RE = re.compile(r"^0\d{2,3}$")
USABLE = "5"  # numInfo status "normal"; 9, 10 and 11 refuse new bindings


def fmt_time(moment: float) -> str:
    """A platform time string: UTC ``yyyy-MM-dd HH:mm:ss``."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """The items of ``data`` that have a value (absent fields are left out of answers)."""
    return {k: v for k, v in data.items() if v is not None}


def requested_area(f: Fields) -> tuple[str | None, bool]:
    """A bind's ``areaCode`` and whether its ``areaMatchMode`` is loose ("1")."""
    code = f.string("areaCode", max_len=8, pattern=CITY_RE)
    mode = f.string("areaMatchMode", choices=("0", "1"))
    return code, mode == "1"


class Pool:
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
            self.delete(db, row)
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

    # --- the bindings of every mode -------------------------------------------------------------

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
            self.delete(db, row)
        db.execute("DELETE FROM callbacks WHERE expires IS NOT NULL AND expires <= ?", (now,))
        if rows:
            logger.info("expired %d binding(s)", len(rows))
        return len(rows)

    def delete(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """Delete one binding and give back the slot it held on its number.

        A YB relation is the only binding with a Y: it holds a slot of its Y, every other binding
        one of its X. What else goes with the binding, its mode says (:meth:`forget`).
        """
        gone = db.execute("DELETE FROM bindings WHERE id=?", (row["id"],)).rowcount
        if not gone:
            return
        if row["y"] is not None:
            db.execute("UPDATE numbers SET y_used=y_used-1 WHERE number=?", (row["y"],))
        else:
            db.execute("UPDATE numbers SET x_used=x_used-1 WHERE number=?", (row["x"],))
        self.forget(db, row)

    def forget(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """What goes with a deleted binding besides its row: nothing here, its mode's rules say."""

    def insert(
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
        """Store a new binding of ``kind`` and take its slot on its number; returns its id."""
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
                json.dumps(drop_none(data)),
            ),
        )
        if y is not None:  # see delete(): a YB relation holds a slot of its Y
            db.execute("UPDATE numbers SET y_used=y_used+1 WHERE number=?", (y,))
        else:
            db.execute("UPDATE numbers SET x_used=x_used+1 WHERE number=?", (x,))
        return binding_id

    def update(
        self,
        db: sqlite3.Connection,
        row: sqlite3.Row,
        changes: dict[str, Any],
        *,
        columns: dict[str, Any] | None = None,
    ) -> None:
        """Merge ``changes`` (None: unchanged) into a binding's fields, and set ``columns``."""
        data = json.loads(row["data"])
        data.update(drop_none(changes))
        sets = {"data": json.dumps(data), "modified": time.time(), **(columns or {})}
        assignments = ", ".join(f"{name}=?" for name in sets)
        db.execute(
            f"UPDATE bindings SET {assignments} WHERE id=?",  # noqa: S608 - names are ours
            (*sets.values(), row["id"]),
        )

    def own_x(self, db: sqlite3.Connection, app: AppConfig, x: str) -> sqlite3.Row:
        """The number row of an X the app names, refused if it is not the app's or not usable."""
        row = db.execute(
            "SELECT * FROM numbers WHERE number=? AND app_key=?", (x, app.app_key)
        ).fetchone()
        if row is None:
            raise PlatformError("1012001")
        if row["status"] != USABLE:
            raise PlatformError(unconfirmed.X_NOT_USABLE_CODE)
        return row

    def choose(
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

    def binding(
        self, db: sqlite3.Connection, app: AppConfig, binding_id: str, kinds: tuple[str, ...]
    ) -> sqlite3.Row | None:
        """The app's binding of this id, if it is one of ``kinds``."""
        row = db.execute("SELECT * FROM bindings WHERE id=?", (binding_id,)).fetchone()
        if row is None or row["kind"] not in kinds or row["app_key"] != app.app_key:
            return None
        return row

    # --- for the control API and the call engine --------------------------------------------------

    def list_bindings(
        self, *, app_key: str | None = None, kind: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The live bindings as the control API shows them."""
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
            drop_none(
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
