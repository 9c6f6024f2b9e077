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
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

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
    return False


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
        # requests' own adapters retry nothing (max_retries=0); no retrying adapter is mounted,
        # because a silent second bind could create a second binding.
        self.session = requests.Session()
        # Proxies and .netrc from the environment must not silently reroute or re-sign our calls.
        self.session.trust_env = False

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(base_url={self.base_url!r}, app_key={self.app_key!r})"

    def close(self) -> None:
        """Close the pooled connections."""
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
            # params go through urllib's urlencode, which writes "+" as %2B (spec §1.2).
            return self.session.request(
                method,
                self.base_url + path,
                params=query,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
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
