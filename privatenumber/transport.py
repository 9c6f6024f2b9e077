"""The one HTTP choke point between the console and the PrivateNumber platform (spec §5).

:class:`Transport` holds one ``requests.Session`` and sends every request through one method,
``_request()``, which:

* signs the request (AKSK by default, :mod:`privatenumber.auth`);
* sends it **once**, with an explicit timeout and ``allow_redirects=False`` (retries belong to
  Celery, and the recording interface answers with a 301 whose ``Location`` we must read);
* turns every failure into a :class:`~privatenumber.errors.PlatformError` that says whether it is
  permanent and whether the request may have landed;
* validates a successful answer against its response model;
* reports every call, success or failure, to ``on_call`` as a :class:`CallLog` for the audit table;
* asks ``gate`` first, when given: a gate that raises (an application whose calls are paused)
  stops the request before anything is sent.

:meth:`Transport.call` sends to any interface of the mode table (:mod:`privatenumber.modes`);
:class:`~privatenumber.client.PrivateNumberClient` adds a named method for each.

Secrets never reach a log line, an exception or a ``repr``; query strings (which carry real phone
numbers) are kept out of logs and ``CallLog.path`` too.

**Connections (issue 19).** :func:`pooled_session` keeps one ``requests.Session`` per process and
per base URL, whose connection pool outlives the clients that use it: a worker reuses one kept-alive
(and, against the real platform, already TLS-negotiated) connection from bind to bind instead of
opening one per client. It is created lazily in the process that uses it, so a Celery prefork child
never sends over a socket inherited from its parent. Every session the transport uses mounts
:class:`PooledAdapter`, which knows one safe case of a pooled connection gone stale: the platform
reset it while it sat idle, and our first write of the request failed, so not one byte of it left.
That request is sent once more, on a fresh connection. Every other broken connection stays a
:class:`~privatenumber.errors.PlatformTransientError` saying whether the request may have landed,
exactly as before.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError

from privatenumber import auth
from privatenumber.codes import TRANSIENT_RESULT_CODES
from privatenumber.errors import PlatformError, PlatformTransientError, own_code_for_status
from privatenumber.modes import Interface
from privatenumber.schemas import SchemaError, WireModel

# The logger keeps the name it had when all of this was privatenumber/client.py: log settings and
# the demo's quiet mode name it.
logger = logging.getLogger("privatenumber.client")

CONTENT_TYPE = "application/json;charset=UTF-8"
# (connect, read) seconds: connect a little over a TCP retransmission window, read generously.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10)

R = TypeVar("R", bound=BaseModel)
Q = TypeVar("Q", bound=WireModel)


@dataclass(frozen=True)
class CallLog:
    """What one call to the platform did, for the console's audit row.

    ``path`` is the URI without its query string (which carries phone numbers). ``result_code`` is
    the platform's ``resultcode``, or the client's own code when the platform gave none
    (``TIMEOUT``, ``CONNECTION``, ``HTTP404``, ``BAD_RESPONSE`` …); None for a successful 301.
    ``error`` is the failure in words, None on success.
    """

    interface: str
    method: str
    path: str
    http_status: int | None
    result_code: str | None
    latency_ms: int
    error: str | None


def _build(model: type[Q], request: Q | None, fields: Mapping[str, Any]) -> Q:
    """The request model, given ready-made or built from keyword arguments (not both)."""
    if request is not None:
        if fields:
            raise TypeError("pass either a request model or keyword arguments, not both")
        if not isinstance(request, model):
            raise TypeError(f"expected {model.__name__}, got {type(request).__name__}")
        return request
    try:
        return model(**fields)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or model.__name__
        raise SchemaError(field, first["msg"].removeprefix("Value error, ")) from None


# ---------------------------------------------------------------------------------------------
# Pooled, kept-alive connections
# ---------------------------------------------------------------------------------------------

# Errors of a write into a connection the peer has already reset or closed.
_RESET_ERRORS = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
# Connections each session keeps per host: a prefork worker uses one; threaded callers (the web
# process, a benchmark's threads) more. Beyond it urllib3 opens extra ones and closes them after.
POOL_MAXSIZE = 16


class StaleConnectionError(http.client.HTTPException):
    """The first write of a request on a reused connection failed: the peer had reset or closed it
    while it was idle in the pool. Not one byte of the request left, so sending it again on a new
    connection cannot make it happen twice."""


class _StaleAware:
    """Connection mixin that tells a stale pooled connection apart from a request that left.

    ``_sent_on_socket`` counts the requests whose writing began on the current socket (a new
    socket starts at 0). On a reused socket the first write goes out with one ``send()``, whose
    failure proves that nothing of the request left us; that failure becomes
    :class:`StaleConnectionError`. Any later write failure is left to urllib3 as before (the
    request may have arrived in part or whole).
    """

    sock: Any
    _sent_on_socket = 0
    _reused = False
    _written = True

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._sent_on_socket = 0

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._reused = self.sock is not None and self._sent_on_socket > 0
        self._written = False
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._sent_on_socket += 1

    def send(self, data: Any) -> None:
        if self._written or not self._reused or self.sock is None:
            self._written = True
            super().send(data)  # type: ignore[misc]
            return
        self._written = True
        view = memoryview(data) if isinstance(data, bytes | bytearray) else None
        if view is None:
            super().send(data)  # type: ignore[misc]
            return
        try:
            sent = self.sock.send(view)
        except _RESET_ERRORS as error:
            raise StaleConnectionError(type(error).__name__) from error
        if sent < len(view):
            super().send(view[sent:])  # type: ignore[misc]


class _HTTPConnection(_StaleAware, HTTPConnection):
    pass


class _HTTPSConnection(_StaleAware, HTTPSConnection):
    pass


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _stale(error: BaseException) -> bool:
    """Whether a requests error is a :class:`StaleConnectionError` (wrapped by urllib3)."""
    cause: object = error.args[0] if error.args else None
    if isinstance(cause, ProtocolError) and len(cause.args) > 1:
        cause = cause.args[1]
    return isinstance(cause, StaleConnectionError)


class PooledAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that keeps connections alive and retries nothing, except a request on a
    pooled connection found stale before any byte of it was written (:class:`StaleConnectionError`):
    that one is sent once more, on a new connection.

    ``max_retries`` stays requests' default (none, no read retries): a silent second bind could
    create a second binding.
    """

    def __init__(self) -> None:
        super().__init__(pool_connections=1, pool_maxsize=POOL_MAXSIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPConnectionPool,
            "https": _HTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except requests.ConnectionError as error:
            if not _stale(error):
                raise
        # The platform dropped idle connections (a restart, an idle timeout): the others in the
        # pool are as likely stale, so the pool starts afresh and the retry opens a new one.
        logger.info("pooled connection was stale before the request was written; sending again")
        self.poolmanager.clear()
        return super().send(request, *args, **kwargs)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A session shared by every application on one base URL must not carry one's cookies into
    another's calls (a per-client session never kept any beyond its one call)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def new_session() -> requests.Session:
    """A session with :class:`PooledAdapter` mounted and nothing taken from the environment."""
    session = requests.Session()
    # Proxies and .netrc from the environment must not silently reroute or re-sign our calls.
    session.trust_env = False
    session.cookies.set_policy(_NoCookies())
    session.mount("https://", PooledAdapter())
    session.mount("http://", PooledAdapter())
    return session


class PerProcess:
    """Objects made once per process and key, on first use (pooled HTTP sessions).

    Keyed by ``os.getpid()`` as well: a forked child (a Celery prefork worker) finds none of its
    parent's and makes its own, so two processes never write into one socket. The parent's are
    dropped without being closed in the child, so nothing is shut down under the parent; the
    lock, which a thread may have held at fork time, is made again.
    """

    def __init__(self) -> None:
        self._made: dict[tuple[int, Any], Any] = {}
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget_parents)

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        full = (os.getpid(), key)
        made = self._made.get(full)
        if made is None:
            with self._lock:
                made = self._made.get(full)
                if made is None:
                    made = self._made[full] = make()
        return made

    def _forget_parents(self) -> None:
        self._made.clear()
        self._lock = threading.Lock()


_sessions = PerProcess()


def pooled_session(base_url: str) -> requests.Session:
    """This process's session for ``base_url``, made on first use (:class:`PerProcess`)."""
    return _sessions.get(base_url.rstrip("/"), new_session)


def _never_connected(error: requests.ConnectionError) -> bool:
    """Whether a connection error happened before any byte of the request left us.

    requests wraps urllib3's errors: a refused connection, a failed DNS lookup or a connect
    timeout sit in ``MaxRetryError.reason``; a connection dropped after sending is a
    ``ProtocolError`` and may have delivered the request.
    """
    if isinstance(error, requests.exceptions.SSLError | requests.ConnectTimeout):
        return True
    cause: object = error.args[0] if error.args else None
    for _ in range(4):  # the chain is short; a bound keeps a pathological one from looping
        if isinstance(cause, NewConnectionError | ConnectTimeoutError):
            return True
        cause = getattr(cause, "reason", None)
    # A stale pooled connection a second time: still nothing was written.
    return _stale(error)


class Transport:
    """Signed, single-attempt requests of one PrivateNumber application (one APP_Key, one mode).

    Every request sends exactly once. A request that does not fit its model raises
    :class:`~privatenumber.schemas.SchemaError` before anything is sent.
    """

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        scheme: auth.Scheme | str = auth.Scheme.AKSK,
        on_call: Callable[[CallLog], None] | None = None,
        gate: Callable[[str], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (or http:// for the simulator)")
        if timeout is None:
            raise ValueError("a timeout is required")
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self._app_secret = app_secret
        self.timeout = timeout
        self.scheme = auth.Scheme(scheme)
        self.on_call = on_call
        # Called with the interface name before every request; raising a PlatformError refuses it.
        self.gate = gate
        # The adapters retry nothing (max_retries=0) but a request found on a stale pooled
        # connection before any byte of it was written (PooledAdapter): a silent second bind
        # could create a second binding. ``session`` is usually pooled_session(base_url), shared
        # by the process and left open by close(); without it the client has a session of its own.
        self._owns_session = session is None
        self.session = new_session() if session is None else session

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(base_url={self.base_url!r}, app_key={self.app_key!r})"

    def close(self) -> None:
        """Close the client's own connections; a shared session's pool stays open for the next
        client of this process."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, interface: Interface, request: WireModel | None = None, /, **fields: Any) -> Any:
        """Send one request to ``interface`` (an entry of :mod:`privatenumber.modes`).

        ``request`` is the interface's ready request model, or ``fields`` are the keyword
        arguments (snake_case) that build it, not both; an interface whose URL carries ``app_key``
        gets this client's. The answer is the interface's response model, or the ``Location`` of
        the 301 for an interface answered by a redirect.
        """
        app_key = {"app_key": self.app_key} if interface.app_key_in_query else None
        params: WireModel | Mapping[str, str] | None
        body: WireModel | None
        if interface.has_body:
            params, body = app_key, _build(interface.request, request, fields)
        else:
            if app_key is not None and request is None:
                fields = {**app_key, **fields}
            params, body = _build(interface.request, request, fields), None
        return self._request(
            interface.name,
            interface.method,
            interface.uri,
            params=params,
            body=body,
            answer=interface.response,
        )

    def _request(
        self,
        interface: str,
        method: str,
        path: str,
        *,
        params: WireModel | Mapping[str, str] | None = None,
        body: WireModel | None = None,
        answer: type[R] | None,
    ) -> Any:
        """Send one signed request and interpret the answer; ``answer=None`` expects a 301."""
        if self.gate is not None:
            self.gate(interface)  # a refusal here sends nothing and logs no call
        started = time.monotonic()
        http_status: int | None = None
        result_code: str | None = None
        error: PlatformError | None = None
        try:
            response = self._send(interface, method, path, params, body)
            http_status = response.status_code
            if answer is None:
                return self._location(interface, response)
            value = self._result(interface, response, answer)
            result_code = "0"
            return value
        except PlatformError as failure:
            error = failure
            result_code = failure.code
            raise
        finally:
            latency_ms = round((time.monotonic() - started) * 1000)
            self._report(
                CallLog(
                    interface=interface,
                    method=method,
                    path=path,
                    http_status=http_status,
                    result_code=result_code,
                    latency_ms=latency_ms,
                    error=str(error) if error else None,
                )
            )

    def _send(
        self,
        interface: str,
        method: str,
        path: str,
        params: WireModel | Mapping[str, str] | None,
        body: WireModel | None,
    ) -> requests.Response:
        """One attempt over the session; transport failures become PlatformErrors."""
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Accept": "application/json",
            **auth.build_headers(self.app_key, self._app_secret, self.scheme),
        }
        query = params.to_wire() if isinstance(params, WireModel) else params
        data = None
        if body is not None:
            data = json.dumps(body.to_wire(), ensure_ascii=False).encode("utf-8")
        where = f"{method} {path}"
        try:
            # What ``session.request(…, allow_redirects=False)`` sends, handed to the session's
            # mounted adapter (PooledAdapter) directly. The session's own layer merged its
            # settings and cookie jar into every request, then ran hooks, cookie extraction and
            # redirect bookkeeping on every answer: about a fifth of a platform call's CPU
            # (issue 19), for nothing here, where no cookie is kept, nothing comes from the
            # environment and no redirect is followed. params go through urllib's urlencode,
            # which writes "+" as %2B (spec §1.2).
            prepared = requests.PreparedRequest()
            prepared.prepare(
                method=method,
                url=self.base_url + path,
                headers={**self.session.headers, **headers},
                data=data,
                params=query,
            )
            response = self.session.get_adapter(prepared.url).send(
                prepared,
                timeout=self.timeout,
                # the session's own, as Session.send passed them (a session given to the client
                # may trust another CA or carry a client certificate)
                verify=self.session.verify,
                cert=self.session.cert,
                proxies=self.session.proxies,
            )
            response.content  # noqa: B018 - read whole, as the session did: the connection goes back to the pool
            return response
        except requests.ConnectTimeout:
            raise PlatformTransientError(
                "CONNECTION",
                f"connect timed out on {where}",
                interface=interface,
                may_have_landed=False,
            ) from None
        except requests.ReadTimeout:
            raise PlatformTransientError(
                "TIMEOUT",
                f"no answer within the read timeout on {where}",
                interface=interface,
                may_have_landed=True,
            ) from None
        except requests.ConnectionError as failure:
            never = _never_connected(failure)
            reason = "could not connect" if never else "connection dropped"
            if _stale(failure):
                reason = "connection was stale before the request was written"
            raise PlatformTransientError(
                "CONNECTION",
                f"{reason} on {where} ({_cause_name(failure)})",
                interface=interface,
                may_have_landed=not never,
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as failure:
            raise PlatformError(
                "HTTP404",
                f"invalid URL for {where} ({type(failure).__name__})",
                interface=interface,
            ) from None
        except requests.RequestException as failure:
            # e.g. the body broke off while being read: the request did arrive.
            raise PlatformTransientError(
                "CONNECTION",
                f"{type(failure).__name__} on {where}",
                interface=interface,
                may_have_landed=True,
            ) from None

    def _location(self, interface: str, response: requests.Response) -> str:
        """The ``Location`` of a 301, or the failure the platform answered instead."""
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            if location:
                return location
            raise PlatformError(
                "BAD_RESPONSE",
                f"HTTP {response.status_code} without a Location header",
                http_status=response.status_code,
                interface=interface,
            )
        data = self._json(response)
        raise self._failure(interface, response, data)

    def _result(self, interface: str, response: requests.Response, answer: type[R]) -> R:
        """The validated answer of a JSON interface, or the failure it reports."""
        data = self._json(response)
        if (
            isinstance(data, dict)
            and data.get("resultcode") == "0"
            and 200 <= response.status_code < 300
        ):
            try:
                return answer.model_validate(data)
            except ValidationError as error:
                first = error.errors(include_url=False)[0]
                field = ".".join(str(part) for part in first["loc"])
                raise PlatformError(
                    "BAD_RESPONSE",
                    f"{field}: {first['msg']}",
                    http_status=response.status_code,
                    interface=interface,
                    # The platform said "0": whatever was asked has happened.
                    may_have_landed=True,
                ) from None
        raise self._failure(interface, response, data)

    def _json(self, response: requests.Response) -> Any:
        """The decoded JSON body, or None when there is none or it is not JSON."""
        if not response.content:
            return None
        try:
            return json.loads(response.content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def _failure(self, interface: str, response: requests.Response, data: Any) -> PlatformError:
        """The error for an answer that is not a success."""
        status = response.status_code
        landed = status >= 500
        code = data.get("resultcode") if isinstance(data, dict) else None
        if not isinstance(code, str) or not code:
            if status == 404:
                return PlatformError(
                    "HTTP404", "wrong base URL or URI", http_status=status, interface=interface
                )
            if status >= 500:
                return PlatformTransientError(
                    own_code_for_status(status),
                    "server error without a result code",
                    http_status=status,
                    interface=interface,
                    may_have_landed=True,
                )
            problem = "not JSON" if data is None else "no resultcode in the answer"
            return PlatformError(
                "BAD_RESPONSE" if 200 <= status < 300 else own_code_for_status(status),
                f"HTTP {status}, {problem}",
                http_status=status,
                interface=interface,
                # A 2xx that cannot be read may still mean the request was carried out.
                may_have_landed=200 <= status < 300,
            )
        description = data.get("resultdesc")
        description = description if isinstance(description, str) else ""
        if code == "0":
            return PlatformError(
                "BAD_RESPONSE",
                f"resultcode 0 with HTTP {status}",
                http_status=status,
                interface=interface,
                may_have_landed=True,
            )
        if status >= 500 or code in TRANSIENT_RESULT_CODES:
            return PlatformTransientError(
                code, description, http_status=status, interface=interface, may_have_landed=landed
            )
        return PlatformError(code, description, http_status=status, interface=interface)

    def _report(self, call: CallLog) -> None:
        """Log the call and hand it to ``on_call``; a failing hook never changes the outcome."""
        logger.info(
            "platform call %s %s %s -> %s %s in %d ms",
            call.interface,
            call.method,
            call.path,
            call.http_status,
            call.result_code,
            call.latency_ms,
        )
        if self.on_call is None:
            return
        try:
            self.on_call(call)
        except Exception:
            # Raising here would turn a bind that happened into one that seems to have failed.
            logger.exception("on_call hook failed for %s", call.interface)


def _cause_name(error: BaseException) -> str:
    """The class name of the innermost urllib3 cause, without its message (which has the URL)."""
    cause: object = error.args[0] if error.args else error
    for _ in range(4):
        inner = getattr(cause, "reason", None)
        if inner is None:
            break
        cause = inner
    return type(cause).__name__
