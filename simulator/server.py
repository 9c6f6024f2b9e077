"""The HTTP side: the platform's interfaces at their exact method and URI, and the ``/_sim/`` API.

A threaded HTTP/1.1 server with keep-alive. Its routes are the interfaces of the mode table
(:mod:`privatenumber.modes`: method, URI, parameters, the modes that have them), each answered by
the handler a part of the simulator gives it (:func:`build_routes`). Every platform request goes
through the same steps, in the platform's order: route (unknown URI: bare 404), injected faults,
authentication (spec §2), application state, the mode rule (1010040), the parameters the interface
has (anything else is refused with 1010002 naming it: the platform's tables are strict and so is
the simulator), then the interface itself; answers carry the §1.4 envelope with the HTTP status of
their result code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from privatenumber.auth import CODE_UNKNOWN_APP_KEY, AuthError, parse_headers, verify_token
from privatenumber.modes import MODES, Interface
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.control import Control
from simulator.exchange import DropConnection, InterfaceHandler, Redirect
from simulator.faults import Faults
from simulator.metrics import Metrics
from simulator.platform import Platform
from simulator.results import PlatformError, invalid, missing
from simulator.validate import Fields

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Route:
    """One place of the platform (method and URI): who may call it, what it takes, who answers.

    ``name`` is the interface's label in the table (``axb.bind``: metrics and faults);
    ``fields`` every parameter its table lists (anything else is refused with 1010002).
    """

    name: str
    modes: frozenset[str]
    fields: frozenset[str]
    handler: InterfaceHandler
    app_key_param: bool  # AXYB URIs carry app_key in the query string


def build_routes(
    handlers: Mapping[Interface, InterfaceHandler],
) -> dict[tuple[str, str], Route]:
    """The routes of every interface of every mode of the table, each to its handler.

    A place two interfaces share (AXYB's two bind steps, the recordings of every mode) is one
    route: one handler, the modes and parameters of both.
    """
    routes: dict[tuple[str, str], Route] = {}
    for mode in MODES.values():
        for interface in mode.interfaces:
            handler = handlers.get(interface)
            if handler is None:
                raise LookupError(f"the simulator has no handler for {interface.name}")
            place = (interface.method, interface.uri)
            route = routes.get(place)
            if route is None:
                routes[place] = Route(
                    interface.label,
                    frozenset({mode.name}),
                    interface.parameters,
                    handler,
                    interface.app_key_in_query,
                )
            elif route.handler != handler or route.name != interface.label:
                raise ValueError(f"two interfaces at {interface.method} {interface.uri}")
            else:
                routes[place] = replace(
                    route,
                    modes=route.modes | {mode.name},
                    fields=route.fields | interface.parameters,
                )
    return routes


class NonceCache:
    """Nonces seen within the skew window (only with ``--reject-replayed-nonce``)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, token_header: str) -> bool:
        now = time.time()
        with self._lock:
            if len(self._seen) > 100000:
                self._seen = {k: t for k, t in self._seen.items() if t > now - self.window}
            if token_header in self._seen and self._seen[token_header] > now - self.window:
                return False
            self._seen[token_header] = now
            return True


class AuthLocks:
    """Addresses locked out of an app after repeated authentication failures (1020176).

    Per (address, app_key): the platform locks the client IP (spec §7); keying it by app as well
    keeps one app's wrong secret from locking the others out (an UNCONFIRMED choice, see
    privatenumber.unconfirmed).
    """

    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale
        self._failures: dict[tuple[str, str], list[float]] = defaultdict(list)
        self._locked: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def locked(self, address: str, app: AppConfig) -> bool:
        with self._lock:
            until = self._locked.get((address, app.app_key))
            if until is not None and until <= time.time():
                del self._locked[(address, app.app_key)]
                until = None
            return until is not None

    def failed(self, address: str, app: AppConfig) -> None:
        """Count one failed authentication; lock the address when the app's limit is reached."""
        if not app.auth_lock_failures:
            return
        now = time.time()
        window = unconfirmed.AUTH_LOCK_WINDOW_SECONDS / self.time_scale
        with self._lock:
            key = (address, app.app_key)
            recent = [t for t in self._failures[key] if t > now - window] + [now]
            self._failures[key] = recent
            if len(recent) >= app.auth_lock_failures:
                self._locked[key] = now + app.auth_lock_seconds / self.time_scale
                self._failures[key] = []

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._locked.clear()


class Served(Protocol):
    """What the HTTP side needs of the simulator (``simulator.app.Simulator``)."""

    platform: Platform
    control: Control
    faults: Faults
    metrics: Metrics
    auth_locks: AuthLocks
    nonces: NonceCache | None
    max_skew: float

    def interfaces(self) -> dict[Interface, InterfaceHandler]: ...


class Handler(BaseHTTPRequestHandler):
    """One connection; handles requests until the client closes or goes idle."""

    protocol_version = "HTTP/1.1"
    server_version = "PrivateNumberSimulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    sim: Served  # set on the subclass built by make_server, with the routes of its interfaces
    routes: dict[tuple[str, str], Route]

    # --- plumbing ---------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without TCP_NODELAY, Nagle holds the body
        # back until the client's delayed ACK (~40 ms per request on keep-alive connections).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(
        self, status: int, body: dict[str, Any] | list[Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def drop(self) -> None:
        """Cut the connection abruptly (RST where the OS allows), as a failing network would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    # --- dispatch ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        try:
            body = self._read_body()
            if parts.path.startswith("/_sim/"):
                self.sim.control.handle(self, parts.path, parts.query, body)
                return
            route = self.routes.get((self.command, parts.path))
            if route is None:
                self.send_empty(404)  # a wrong URI has no JSON result code (spec §1.1)
                return
            self._platform(route, parts.query, body)
        except DropConnection:
            self.drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            logger.exception("unexpected error on %s %s", self.command, self.path)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.send_json(
                    500, {"resultcode": "1010001", "resultdesc": "Internal system error."}
                )

    def _platform(self, route: Route, query: str, raw: bytes) -> None:
        started = time.perf_counter()
        latency, fired, fault = self.sim.faults.roll(
            route.name, ("drop_rate", "http5xx_rate", "error_rate")
        )
        if latency:
            time.sleep(latency / 1000)
        if fired == "drop_rate":
            raise DropConnection
        if fired == "http5xx_rate" and fault is not None:
            self.send_json(
                fault.http_status, {"resultcode": "1010001", "resultdesc": "Internal system error."}
            )
            return
        try:
            app = self._authenticate()
            if fired == "error_rate" and fault is not None:
                raise PlatformError(fault.error_code)
            fields = self._fields(route, query, raw, app)
            result = route.handler(app, fields)
        except Redirect as redirect:
            # A path under this server becomes an absolute URL on the host the client used.
            location = redirect.location
            if location.startswith("/"):
                location = self.base_url() + location
            self.send_empty(301, {"Location": location})
            self.sim.metrics.record(route.name, "301", time.perf_counter() - started)
            return
        except PlatformError as error:
            self.send_json(error.http_status, error.body())
            self.sim.metrics.record(route.name, error.code, time.perf_counter() - started)
            return
        self.send_json(200, {"resultcode": "0", "resultdesc": "Success", **result})
        self.sim.metrics.record(route.name, "0", time.perf_counter() - started)

    def _authenticate(self) -> AppConfig:
        """Who is calling: the header pair checked against the app's secret (spec §2).

        Before the digest, the app's IP whitelist (1020166) and the lock that follows repeated
        authentication failures (1020176); a failed authentication counts towards that lock.
        """
        sim = self.sim
        address = self.client_address[0]
        try:
            token = parse_headers(self.headers)
        except AuthError as error:
            raise PlatformError(error.code, error.message) from None
        app = sim.platform.app(token.app_key)
        if app is None:
            raise PlatformError(CODE_UNKNOWN_APP_KEY, "Invalid app_key.")
        if app.ip_whitelist and address not in app.ip_whitelist:
            raise PlatformError(unconfirmed.CODE_IP_NOT_WHITELISTED)
        if sim.auth_locks.locked(address, app):
            raise PlatformError(unconfirmed.CODE_AUTH_LOCKED)
        try:
            verified = verify_token(token, app.app_secret, max_skew=timedelta(seconds=sim.max_skew))
        except AuthError as error:
            sim.auth_locks.failed(address, app)
            raise PlatformError(error.code, error.message) from None
        if sim.nonces is not None and not sim.nonces.first_use(
            self.headers.get(verified.scheme.token_header, "")
        ):
            raise PlatformError(unconfirmed.REPLAYED_NONCE_CODE)
        if app.status == "unavailable":
            raise PlatformError("1010021")
        if app.status == "frozen":
            raise PlatformError("1010029")
        return app

    def _fields(self, route: Route, query: str, raw: bytes, app: AppConfig) -> Fields:
        if app.mode not in route.modes:
            raise PlatformError("1010040")
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if route.app_key_param:
            app_key = params.get("app_key")
            if not app_key:
                raise missing("app_key")
            if app_key != app.app_key:
                raise invalid("app_key")
        if self.command in ("POST", "PUT"):
            Fields(params).only(frozenset({"app_key"} if route.app_key_param else ()))
            try:
                data = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                data = None
            if not isinstance(data, dict):
                raise PlatformError(
                    "1010002", "Invalid request. The request body is not a JSON object."
                )
            fields = Fields(data)
        else:
            fields = Fields(params, from_query=True)
        fields.only(route.fields)
        return fields


class Server(ThreadingHTTPServer):
    """Threaded server: one thread per connection, daemon threads, a deep accept queue."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def make_server(sim: Served, host: str, port: int) -> Server:
    """A server of ``sim`` on ``host:port``, routing every interface of the mode table."""
    routes = build_routes(sim.interfaces())
    handler = type("BoundHandler", (Handler,), {"sim": sim, "routes": routes})
    return Server((host, port), handler)
