"""The HTTP side: the platform's interfaces at their exact method and URI, and the ``/_sim/`` API.

A threaded HTTP/1.1 server with keep-alive. Every platform request goes through the same steps, in
the platform's order: route (unknown URI: bare 404), injected faults, authentication (spec §2),
application state, the mode rule (1010040), the parameters the interface has (anything else is
refused with 1010002 naming it: the platform's tables are strict and so is the simulator), then the
interface itself; answers carry the §1.4 envelope with the HTTP status of their result code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from privatenumber.auth import CODE_UNKNOWN_APP_KEY, AuthError, parse_headers, verify_token
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.results import PlatformError, invalid, missing
from simulator.validate import Fields

if TYPE_CHECKING:
    from simulator.app import Simulator

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"


# The parameters of each interface (its body, or its URL query), as the spec's tables list them.
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
FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(names)
    for name, names in {
        "axb.bind": (
            "relationNum",
            "areaCode",
            "areaMatchMode",
            "callerNum",
            "calleeNum",
            *_AXB_SETTINGS,
        ),
        "axb.modify": ("subscriptionId", "callerNum", "calleeNum", *_AXB_SETTINGS),
        "axb.query": (
            "relationNum",
            "subscriptionId",
            "callerNum",
            "calleeNum",
            "pageIndex",
            "pageSize",
        ),
        "axb.unbind": ("subscriptionId", "relationNum"),
        "ax.bind": (
            "origNum",
            "privateNum",
            "privateNumType",
            "areaCode",
            "areaMatchMode",
            *_AX_SETTINGS,
        ),
        "ax.modify": ("subscriptionId", "origNum", "privateNum", *_AX_SETTINGS),
        "ax.query": ("subscriptionId", "origNum", "privateNum"),
        "ax.unbind": ("subscriptionId", "privateNum", "origNum"),
        "ax.callee": ("origNum", "privateNum", "calleeNum", "duration", "userData"),
        "axe.bind": (
            "bindNum",
            "virtualNum",
            "extendNum",
            "areaCode",
            "areaMatchMode",
            *_AXE_SETTINGS,
        ),
        "axe.modify": (*_AXE_ONE, *_AXE_SETTINGS),
        "axe.query": _AXE_ONE,
        "axe.query2": (*_AXE_ONE, "cursor", "limit"),
        "axe.unbind": _AXE_ONE,
        "axe.count": ("number", "cursor", "limit"),
        "axyb.bind": (
            *unconfirmed.AXYB_AX_STEP_FIELDS,
            *unconfirmed.AXYB_YB_STEP_FIELDS,
            "app_key",
        ),
        "axyb.query": ("app_key", "relationNum", "subscriptionId"),
        # yNum / bNum: unbind one Y-B relation only (privatenumber_axyb_0018, table 3).
        "axyb.unbind": ("app_key", "subscriptionId", "relationNum", "yNum", "bNum"),
        "call.stop": ("signal", unconfirmed.STOP_CALL_SESSION_FIELD),
        "record.url": ("fileName", "recordDomain"),
    }.items()
}


@dataclass(frozen=True)
class Route:
    """One platform interface: fault/metrics name, the mode allowed to call it, the handler."""

    name: str
    modes: frozenset[str] | None  # None: every mode
    handler: str  # method name on the simulator part named by ``target``
    target: str = "platform"
    app_key_param: bool = False  # AXYB URIs carry app_key in the query string

    @property
    def fields(self) -> frozenset[str]:
        return FIELDS[self.name]


def _routes() -> dict[tuple[str, str], Route]:
    axb = frozenset({"AXB"})
    ax = frozenset({"AX"})
    axe = frozenset({"AXE"})
    axyb = frozenset({"AXYB"})
    axb_uri = "/rest/caas/relationnumber/partners/v1.0"
    ax_uri = "/rest/provision/caas/privatenumber/v1.0"
    axe_uri = "/rest/caas/extendnumber/v1.0"
    axyb_uri = "/rest/omp/xyrelationnumber/v1.0"
    return {
        ("POST", axb_uri): Route("axb.bind", axb, "axb_bind"),
        ("PUT", axb_uri): Route("axb.modify", axb, "axb_modify"),
        ("GET", axb_uri): Route("axb.query", axb, "axb_query"),
        ("DELETE", axb_uri): Route("axb.unbind", axb, "axb_unbind"),
        ("POST", ax_uri): Route("ax.bind", ax, "ax_bind"),
        ("PUT", ax_uri): Route("ax.modify", ax, "ax_modify"),
        ("GET", ax_uri): Route("ax.query", ax, "ax_query"),
        ("DELETE", ax_uri): Route("ax.unbind", ax, "ax_unbind"),
        ("PUT", "/rest/caas/privatenumber/calleenumber/v1.0"): Route(
            "ax.callee", ax, "ax_set_callee"
        ),
        ("POST", axe_uri): Route("axe.bind", axe, "axe_bind"),
        ("PUT", axe_uri): Route("axe.modify", axe, "axe_modify"),
        ("GET", axe_uri): Route("axe.query", axe, "axe_query"),
        ("DELETE", axe_uri): Route("axe.unbind", axe, "axe_unbind"),
        ("GET", "/rest/caas/extendnumber/v2.0"): Route("axe.query2", axe, "axe_query_v2"),
        ("GET", unconfirmed.AXE_COUNT_URI): Route("axe.count", axe, "axe_binding_count"),
        ("POST", axyb_uri): Route("axyb.bind", axyb, "axyb_bind", app_key_param=True),
        ("GET", axyb_uri): Route("axyb.query", axyb, "axyb_query", app_key_param=True),
        ("DELETE", axyb_uri): Route("axyb.unbind", axyb, "axyb_unbind", app_key_param=True),
        ("POST", "/rest/httpsessions/callStop/v2.0"): Route(
            "call.stop", unconfirmed.STOP_CALL_MODES, "stop_call", target="calls"
        ),
        ("GET", "/rest/provision/voice/record/v1.0"): Route(
            "record.url", None, "download_url", target="recordings"
        ),
    }


ROUTES = _routes()


class Redirect(Exception):
    """An interface's success that is an HTTP 301 (the recording download address, §5.5)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class DropConnection(Exception):
    """Close the connection without answering (an injected fault)."""


class Handler(BaseHTTPRequestHandler):
    """One connection; handles requests until the client closes or goes idle."""

    protocol_version = "HTTP/1.1"
    server_version = "PrivateNumberSimulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    sim: Simulator  # set on the subclass built by make_server

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
            route = ROUTES.get((self.command, parts.path))
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
            result = getattr(getattr(self.sim, route.target), route.handler)(app, fields)
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
        if route.modes is not None and app.mode not in route.modes:
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


def make_server(sim: Simulator, host: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"sim": sim})
    return Server((host, port), handler)
