"""The control API under ``/_sim/``: what tests and benchmarks use to drive the simulator.

JSON in, JSON out; no authentication (loopback only). Errors answer 400 (bad input) or 404 (unknown
thing) with ``{"error": "..."}``. The endpoints are listed in ``simulator/README.md``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from simulator.calls import CallEngine
from simulator.config import ConfigError, NumberConfig, parse_apps
from simulator.exchange import Exchange
from simulator.faults import Fault, Faults
from simulator.metrics import Metrics
from simulator.platform import Platform
from simulator.pushes import PushQueue
from simulator.recordings import Recordings
from simulator.results import PlatformError
from simulator.sms import SmsEngine
from simulator.store import Store

logger = logging.getLogger(__name__)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Endpoint = Callable[[dict[str, str], Any, re.Match[str]], Any]


class Controlled(Protocol):
    """What the control API drives: the simulator's parts (``simulator.app.Simulator``)."""

    store: Store
    platform: Platform
    pushes: PushQueue
    calls: CallEngine
    sms: SmsEngine
    recordings: Recordings
    faults: Faults
    metrics: Metrics

    def number_status(self, changes: list[tuple[str, str, str | None]]) -> list[int | None]: ...

    def reset(self, *, reload_apps: bool = False) -> None: ...

    def sweep(self) -> int: ...


class Control:
    """Routes ``/_sim/`` requests to the simulator's parts."""

    def __init__(self, sim: Controlled) -> None:
        self.sim = sim
        self.routes: list[tuple[str, re.Pattern[str], Endpoint]] = [
            ("GET", re.compile(r"^/_sim/health$"), self.health),
            ("GET", re.compile(r"^/_sim/apps$"), self.list_apps),
            ("POST", re.compile(r"^/_sim/apps$"), self.put_apps),
            ("POST", re.compile(r"^/_sim/numbers$"), self.add_numbers),
            ("POST", re.compile(r"^/_sim/numbers/status$"), self.number_status),
            ("GET", re.compile(r"^/_sim/bindings$"), self.bindings),
            ("POST", re.compile(r"^/_sim/calls$"), self.place_call),
            ("POST", re.compile(r"^/_sim/calls/bulk$"), self.bulk_calls),
            ("GET", re.compile(r"^/_sim/calls/live$"), self.live_calls),
            ("POST", re.compile(r"^/_sim/sms$"), self.send_sms),
            ("GET", re.compile(r"^/_sim/faults$"), self.get_faults),
            ("POST", re.compile(r"^/_sim/faults$"), self.set_faults),
            ("DELETE", re.compile(r"^/_sim/faults$"), self.clear_faults),
            ("GET", re.compile(r"^/_sim/pushes$"), self.pushes),
            ("GET", re.compile(r"^/_sim/pushes/summary$"), self.push_summary),
            ("GET", re.compile(r"^/_sim/recordings$"), self.recordings),
            ("GET", re.compile(r"^/_sim/recordings/([^/]+)$"), self.recording),
            ("POST", re.compile(r"^/_sim/reset$"), self.reset),
            ("POST", re.compile(r"^/_sim/sweep$"), self.sweep),
            ("GET", re.compile(r"^/_sim/metrics$"), self.metrics),
        ]

    def handle(self, handler: Exchange, path: str, query: str, raw: bytes) -> None:
        if path.startswith("/_sim/files/") and handler.command in ("GET", "HEAD"):
            self.sim.recordings.serve(handler, path)
            return
        params = {k: v[0] for k, v in parse_qs(query).items()}
        found = next(
            (
                (endpoint, match)
                for method, pattern, endpoint in self.routes
                if method == handler.command and (match := pattern.match(path))
            ),
            None,
        )
        if found is None:
            handler.send_json(404, {"error": f"no control endpoint {handler.command} {path}"})
            return
        endpoint, match = found
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            handler.send_json(400, {"error": f"body is not JSON: {exc}"})
            return
        try:
            result = endpoint(params, body, match)
        except ControlError as exc:
            handler.send_json(exc.status, {"error": str(exc)})
            return
        except (ConfigError, ValueError, TypeError, KeyError) as exc:
            handler.send_json(400, {"error": str(exc)})
            return
        except PlatformError as exc:
            handler.send_json(400, {"error": exc.desc, **exc.body()})
            return
        handler.send_json(200, result)

    # --- endpoints --------------------------------------------------------------------------------

    def health(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {
            "status": "ok",
            "timeScale": self.sim.platform.time_scale,
            "pushScheme": self.sim.pushes.default_scheme,
            "state": self.sim.store.path,
        }

    def list_apps(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        # Numbers come from the store: they change at run time (status, additions).
        with self.sim.store.tx() as db:
            rows = db.execute(
                "SELECT app_key, number, city, province, status FROM numbers ORDER BY number"
            ).fetchall()
        numbers: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            numbers.setdefault(row["app_key"], []).append(
                {k: row[k] for k in ("number", "city", "province", "status")}
            )
        return {
            "apps": [
                {**app.to_dict(with_numbers=False), "numbers": numbers.get(app.app_key, [])}
                for app in self.sim.platform.apps()
            ]
        }

    def put_apps(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        apps = parse_apps(body)
        for app in apps:
            with self.sim.store.tx() as db:
                rows = db.execute(
                    "SELECT number, city, province, status FROM numbers WHERE app_key=?",
                    (app.app_key,),
                ).fetchall()
            if not app.numbers and rows and not body.get("replace_numbers", False):
                # An app sent without numbers keeps the ones it has.
                app.numbers = [
                    NumberConfig(r["number"], r["city"], r["province"], r["status"]) for r in rows
                ]
            self.sim.platform.put_app(app)
        return {"apps": [app.app_key for app in apps]}

    def add_numbers(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        app_key = body.get("app_key")
        if self.sim.platform.app(app_key) is None:
            raise ControlError(404, f"no app {app_key!r}")
        numbers = [NumberConfig(**n) for n in body.get("numbers", [])]
        self.sim.platform.add_numbers(app_key, numbers)
        app = self.sim.platform.app(app_key)
        assert app is not None
        known = {n.number for n in app.numbers}
        app.numbers.extend(n for n in numbers if n.number not in known)
        return {"added": len(numbers)}

    def number_status(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        items = body.get("numbers") or [body]
        pushes = self.sim.number_status(
            [(str(i["number"]), str(i["status"]), i.get("cause")) for i in items]
        )
        return {"pushes": pushes}

    def bindings(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {
            "bindings": self.sim.platform.list_bindings(
                app_key=params.get("app_key"),
                kind=params.get("kind"),
                limit=int(params.get("limit", 1000)),
            )
        }

    def place_call(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        try:
            return self.sim.calls.place(body)
        except PlatformError as exc:
            raise ControlError(404 if exc.code == "1016001" else 400, exc.desc) from None

    def bulk_calls(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return self.sim.calls.bulk(body)

    def live_calls(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {"sessionIds": self.sim.calls.live_calls()}

    def send_sms(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return self.sim.sms.send(body)

    def get_faults(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {"faults": self.sim.faults.table()}

    def set_faults(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        table = body.get("faults")
        if table is None:
            interface = body.pop("interface", "*")
            table = {interface: body or None}
        for interface, config in table.items():
            self.sim.faults.set(interface, Fault.from_dict(config) if config else None)
        return {"faults": self.sim.faults.table()}

    def clear_faults(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        self.sim.faults.clear()
        return {"faults": {}}

    def pushes(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {
            "pushes": self.sim.pushes.list(
                kind=params.get("kind"),
                app_key=params.get("app_key"),
                state=params.get("state"),
                since_id=int(params.get("since_id", 0)),
                limit=int(params.get("limit", 500)),
            )
        }

    def push_summary(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return self.sim.pushes.counts()

    def recordings(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {"recordings": self.sim.recordings.list(params.get("app_key"))}

    def recording(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        info = self.sim.recordings.info(unquote(match.group(1)))
        if info is None:
            raise ControlError(404, "no such recording (never made, or expired)")
        return info

    def reset(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        self.sim.reset(reload_apps=bool(body.get("apps", False)))
        return {"status": "reset"}

    def sweep(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {"expired": self.sim.sweep()}

    def metrics(self, params: dict[str, str], body: Any, match: re.Match[str]) -> Any:
        return {"interfaces": self.sim.metrics.snapshot(), "pushes": self.sim.pushes.counts()}
