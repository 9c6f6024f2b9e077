"""The one HTTP choke point between the console and the PrivateNumber platform (spec §5).

``PrivateNumberClient`` holds one ``requests.Session`` and sends every request through one method,
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

Secrets never reach a log line, an exception or a ``repr``; query strings (which carry real phone
numbers) are kept out of logs and ``CallLog.path`` too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from privatenumber import auth, unconfirmed
from privatenumber.codes import TRANSIENT_RESULT_CODES
from privatenumber.errors import PlatformError, PlatformTransientError, own_code_for_status
from privatenumber.schemas import (
    AxbBindRequest,
    AxbBindResponse,
    AxBindRequest,
    AxBindResponse,
    AxbModifyRequest,
    AxbQueryParams,
    AxbQueryResponse,
    AxbUnbindParams,
    AxeBindingCountParams,
    AxeBindingCountResponse,
    AxeBindRequest,
    AxeBindResponse,
    AxeModifyRequest,
    AxeQueryParams,
    AxeQueryResponse,
    AxeQueryV2Params,
    AxeQueryV2Response,
    AxeUnbindParams,
    AxModifyRequest,
    AxQueryParams,
    AxQueryResponse,
    AxTemporaryCalleeRequest,
    AxUnbindParams,
    AxybBindAxRequest,
    AxybBindResponse,
    AxybBindYbRequest,
    AxybQueryParams,
    AxybQueryResponse,
    AxybUnbindParams,
    RecordingUrlParams,
    ResultEnvelope,
    SchemaError,
    StopCallRequest,
    WireModel,
)

logger = logging.getLogger(__name__)

# URIs of the interfaces (spec §5); the simulator serves the same ones.
AXB_URI = "/rest/caas/relationnumber/partners/v1.0"
AX_URI = "/rest/provision/caas/privatenumber/v1.0"
AX_TEMPORARY_CALLEE_URI = "/rest/caas/privatenumber/calleenumber/v1.0"
AXE_URI = "/rest/caas/extendnumber/v1.0"
AXE_V2_URI = "/rest/caas/extendnumber/v2.0"
AXYB_URI = "/rest/omp/xyrelationnumber/v1.0"
STOP_CALL_URI = "/rest/httpsessions/callStop/v2.0"
AXE_COUNT_URI = unconfirmed.AXE_COUNT_URI
RECORDING_URI = "/rest/provision/voice/record/v1.0"

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


class PrivateNumberClient:
    """Client of one PrivateNumber application (one APP_Key, one mode).

    Every method sends exactly one request. Bind/modify methods take either a ready request model
    or the keyword arguments that build it (snake_case names of the model); a request that does
    not fit its model raises :class:`~privatenumber.schemas.SchemaError` before anything is sent.
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
        return f"PrivateNumberClient(base_url={self.base_url!r}, app_key={self.app_key!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> PrivateNumberClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # AXB (spec §5.1)
    # -----------------------------------------------------------------------------------------

    def axb_bind(self, request: AxbBindRequest | None = None, /, **fields: Any) -> AxbBindResponse:
        """Create an AXB binding; the answer's ``subscription_id`` must be stored."""
        body = _build(AxbBindRequest, request, fields)
        return self._request("axb_bind", "POST", AXB_URI, body=body, answer=AxbBindResponse)

    def axb_modify(
        self, request: AxbModifyRequest | None = None, /, **fields: Any
    ) -> ResultEnvelope:
        """Change an AXB binding; absent fields stay as they are."""
        body = _build(AxbModifyRequest, request, fields)
        return self._request("axb_modify", "PUT", AXB_URI, body=body, answer=ResultEnvelope)

    def axb_query(
        self,
        *,
        subscription_id: str | None = None,
        relation_num: str | None = None,
        caller_num: str | None = None,
        callee_num: str | None = None,
        page_index: int | None = None,
        page_size: int | None = None,
    ) -> AxbQueryResponse:
        """Find one AXB binding (by id, or X + A/B) or list the bindings on an X, page by page."""
        params = _build(
            AxbQueryParams,
            None,
            {
                "subscription_id": subscription_id,
                "relation_num": relation_num,
                "caller_num": caller_num,
                "callee_num": callee_num,
                "page_index": page_index,
                "page_size": page_size,
            },
        )
        return self._request("axb_query", "GET", AXB_URI, params=params, answer=AxbQueryResponse)

    def axb_unbind(
        self, subscription_id: str | None = None, relation_num: str | None = None
    ) -> ResultEnvelope:
        """Remove one AXB binding, or with ``relation_num`` alone **every** binding on that X."""
        params = _build(
            AxbUnbindParams,
            None,
            {"subscription_id": subscription_id, "relation_num": relation_num},
        )
        return self._request("axb_unbind", "DELETE", AXB_URI, params=params, answer=ResultEnvelope)

    # -----------------------------------------------------------------------------------------
    # AX (spec §5.2)
    # -----------------------------------------------------------------------------------------

    def ax_bind(self, request: AxBindRequest | None = None, /, **fields: Any) -> AxBindResponse:
        """Create an AX binding: A owns X."""
        body = _build(AxBindRequest, request, fields)
        return self._request("ax_bind", "POST", AX_URI, body=body, answer=AxBindResponse)

    def ax_modify(self, request: AxModifyRequest | None = None, /, **fields: Any) -> ResultEnvelope:
        """Change an AX binding (by subscription id or A + X)."""
        body = _build(AxModifyRequest, request, fields)
        return self._request("ax_modify", "PUT", AX_URI, body=body, answer=ResultEnvelope)

    def ax_query(
        self,
        subscription_id: str | None = None,
        orig_num: str | None = None,
        private_num: str | None = None,
    ) -> AxQueryResponse:
        """Find AX bindings by exactly one of: subscription id, A (all its X), X."""
        params = _build(
            AxQueryParams,
            None,
            {"subscription_id": subscription_id, "orig_num": orig_num, "private_num": private_num},
        )
        return self._request("ax_query", "GET", AX_URI, params=params, answer=AxQueryResponse)

    def ax_unbind(
        self,
        subscription_id: str | None = None,
        private_num: str | None = None,
        orig_num: str | None = None,
    ) -> ResultEnvelope:
        """Remove an AX binding by subscription id or X (the platform ignores ``orig_num``)."""
        params = _build(
            AxUnbindParams,
            None,
            {"subscription_id": subscription_id, "private_num": private_num, "orig_num": orig_num},
        )
        return self._request("ax_unbind", "DELETE", AX_URI, params=params, answer=ResultEnvelope)

    def ax_set_temporary_callee(
        self, request: AxTemporaryCalleeRequest | None = None, /, **fields: Any
    ) -> ResultEnvelope:
        """Set whom A reaches by dialling X, for ``duration`` seconds (default 60)."""
        body = _build(AxTemporaryCalleeRequest, request, fields)
        return self._request(
            "ax_set_temporary_callee",
            "PUT",
            AX_TEMPORARY_CALLEE_URI,
            body=body,
            answer=ResultEnvelope,
        )

    # -----------------------------------------------------------------------------------------
    # AXE (spec §5.3)
    # -----------------------------------------------------------------------------------------

    def axe_bind(self, request: AxeBindRequest | None = None, /, **fields: Any) -> AxeBindResponse:
        """Create an AXE binding: A gets extension E on X."""
        body = _build(AxeBindRequest, request, fields)
        return self._request("axe_bind", "POST", AXE_URI, body=body, answer=AxeBindResponse)

    def axe_modify(
        self, request: AxeModifyRequest | None = None, /, **fields: Any
    ) -> ResultEnvelope:
        """Change an AXE binding; absent fields stay as they are."""
        body = _build(AxeModifyRequest, request, fields)
        return self._request("axe_modify", "PUT", AXE_URI, body=body, answer=ResultEnvelope)

    def axe_query(
        self,
        subscription_id: str | None = None,
        virtual_num: str | None = None,
        extend_num: str | None = None,
    ) -> AxeQueryResponse:
        """Find one AXE binding (v1.0) by subscription id or X + extension."""
        params = _build(
            AxeQueryParams,
            None,
            {
                "subscription_id": subscription_id,
                "virtual_num": virtual_num,
                "extend_num": extend_num,
            },
        )
        return self._request("axe_query", "GET", AXE_URI, params=params, answer=AxeQueryResponse)

    def axe_query_v2(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        subscription_id: str | None = None,
        virtual_num: str | None = None,
        extend_num: str | None = None,
    ) -> AxeQueryV2Response:
        """List AXE bindings with a cursor (start at ``schemas.AXE_V2_FIRST_CURSOR``)."""
        params = _build(
            AxeQueryV2Params,
            None,
            {
                "cursor": cursor,
                "limit": limit,
                "subscription_id": subscription_id,
                "virtual_num": virtual_num,
                "extend_num": extend_num,
            },
        )
        return self._request(
            "axe_query_v2", "GET", AXE_V2_URI, params=params, answer=AxeQueryV2Response
        )

    def axe_binding_count(
        self,
        number: str | None = None,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> AxeBindingCountResponse:
        """How many AXE bindings X numbers carry (QueryAXEBindingCount, spec §5.4.5).

        With ``number``: that X (a one-item list). Without: the application's numbers page by
        page, from ``schemas.AXE_COUNT_FIRST_CURSOR`` to an answer without ``next_cursor``.
        """
        params = _build(
            AxeBindingCountParams, None, {"number": number, "cursor": cursor, "limit": limit}
        )
        return self._request(
            "axe_binding_count",
            "GET",
            AXE_COUNT_URI,
            params=params,
            answer=AxeBindingCountResponse,
        )

    def axe_unbind(
        self,
        subscription_id: str | None = None,
        virtual_num: str | None = None,
        extend_num: str | None = None,
    ) -> ResultEnvelope:
        """Remove an AXE binding by subscription id or X + extension."""
        params = _build(
            AxeUnbindParams,
            None,
            {
                "subscription_id": subscription_id,
                "virtual_num": virtual_num,
                "extend_num": extend_num,
            },
        )
        return self._request("axe_unbind", "DELETE", AXE_URI, params=params, answer=ResultEnvelope)

    # -----------------------------------------------------------------------------------------
    # AXYB (spec §5.4): every URI carries app_key
    # -----------------------------------------------------------------------------------------

    def axyb_bind(
        self,
        request: AxybBindAxRequest | AxybBindYbRequest | None = None,
        /,
        **fields: Any,
    ) -> AxybBindResponse:
        """Bind AXYB in two steps: A–X first, then Y–B with the first answer's subscription id.

        Keyword arguments with ``subscription_id`` build the second step, without it the first;
        ``orig_num`` is A in the first step and B in the second. The platform chooses X and Y in
        ``area_code`` and answers the chosen number as ``relation_number``.
        """
        body: AxybBindAxRequest | AxybBindYbRequest
        if isinstance(request, AxybBindYbRequest) or (
            request is None and "subscription_id" in fields
        ):
            body = _build(AxybBindYbRequest, request, fields)  # type: ignore[arg-type]
        else:
            body = _build(AxybBindAxRequest, request, fields)  # type: ignore[arg-type]
        return self._request(
            "axyb_bind",
            "POST",
            AXYB_URI,
            params={"app_key": self.app_key},
            body=body,
            answer=AxybBindResponse,
        )

    def axyb_query(
        self, subscription_id: str | None = None, relation_num: str | None = None
    ) -> AxybQueryResponse:
        """Find AXYB bindings by subscription id or by the ``relation_number`` of the bind."""
        params = _build(
            AxybQueryParams,
            None,
            {
                "app_key": self.app_key,
                "subscription_id": subscription_id,
                "relation_num": relation_num,
            },
        )
        return self._request("axyb_query", "GET", AXYB_URI, params=params, answer=AxybQueryResponse)

    def axyb_unbind(
        self, subscription_id: str | None = None, relation_num: str | None = None
    ) -> ResultEnvelope:
        """Remove an AXYB binding."""
        params = _build(
            AxybUnbindParams,
            None,
            {
                "app_key": self.app_key,
                "subscription_id": subscription_id,
                "relation_num": relation_num,
            },
        )
        return self._request(
            "axyb_unbind", "DELETE", AXYB_URI, params=params, answer=ResultEnvelope
        )

    # -----------------------------------------------------------------------------------------
    # Stop call and recordings (spec §5.4.4, §5.5)
    # -----------------------------------------------------------------------------------------

    def stop_call(self, session_id: str) -> ResultEnvelope:
        """Hang up the call with this ``sessionId`` (of its call events); sent as ``sessionid``."""
        body = _build(StopCallRequest, None, {"session_id": session_id})
        return self._request("stop_call", "POST", STOP_CALL_URI, body=body, answer=ResultEnvelope)

    def recording_download_url(self, file_name: str, record_domain: str) -> str:
        """The download address of a recording: the ``Location`` of the platform's 301.

        The redirect is never followed (following it would download the audio instead).
        """
        params = _build(
            RecordingUrlParams, None, {"file_name": file_name, "record_domain": record_domain}
        )
        return self._request(
            "recording_download_url", "GET", RECORDING_URI, params=params, answer=None
        )

    # -----------------------------------------------------------------------------------------
    # The choke point
    # -----------------------------------------------------------------------------------------

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
