"""Download one recording file to an open local file, resuming with HTTP Range. (No Django.)

The file is written in chunks of at most 1 MiB as it arrives, and its sha256 is computed on the
way, so memory does not grow with the file. A connection that drops mid-file, a read timeout or a
5xx is retried from the byte where it stopped (``Range: bytes=N-``); a server that ignores the
range and answers 200 makes the download start over. An address that has expired (403/404/410)
is replaced by a fresh one from ``address(refresh=True)``; a refusal of the fresh address means
the file is gone.

Every failure is a :class:`DownloadFailed` that says whether a later attempt may succeed.

Where a file may come from is a :class:`UrlPolicy`, checked on every connection the session opens
(the first address and every redirect): the platform's own origin (the application's base URL,
configured by an administrator), or a host of the allow-list whose every address is public. A
CDR that names ``http://127.0.0.1:8000/…`` or a redirect to a private, loopback or link-local
address is refused before a byte is sent; the address actually connected to is checked again, so
a name that resolves differently the second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error

from privatenumber.transport import PerProcess

logger = logging.getLogger(__name__)

# The most bytes read, hashed and written per step: 1 MiB (was 64 KiB through iter_content). The
# per-chunk Python of requests, urllib3 and this loop was a large part of a worker's CPU per
# recording (issue 19); memory stays a few chunks whatever the file's size.
CHUNK_SIZE = 1024 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_RETRY_STATUSES = {408, 425, 429}
_EXPIRED_STATUSES = {403, 404, 410}
# Failures that tell nothing about the file: the connection broke, or the server was busy.
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    Urllib3Error,
)


class DownloadFailed(Exception):
    """A download that did not complete.

    ``code`` is a :class:`~recordings.choices.FailureCode` value; ``transient`` says a later
    attempt may succeed (the connection kept breaking, the server was failing); ``gone`` says the
    file server does not have the file (any more).
    """

    def __init__(self, code: str, message: str, *, transient: bool, gone: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient
        self.gone = gone


class AddressRefused(Exception):
    """A download address outside the policy (not an OSError: urllib3 must not retry it)."""


def is_public(address: str) -> bool:
    """True for an address on the public internet: not loopback, private, link-local (the cloud
    metadata service at 169.254.169.254), shared, reserved, multicast or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    return scheme, host.lower().strip("[]"), port or (443 if scheme == "https" else 80)


@dataclass(frozen=True)
class UrlPolicy:
    """Where recordings may be downloaded from.

    ``trusted_origins``: the platform itself (scheme, host, port), as an administrator configured
    it: any address, a local simulator included. ``allowed_hosts``: host names
    (``ostor.huawei.com``) or domains (``.myhuaweicloud.com``, any name under it) whose addresses
    must all be public.
    """

    trusted_origins: frozenset[tuple[str, str, int]] = field(default_factory=frozenset)
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def for_platform(cls, base_urls: Iterable[str], allowed_hosts: Iterable[str]) -> UrlPolicy:
        origins = set()
        for url in base_urls:
            parts = urlsplit(url)
            if parts.hostname:
                origins.add(_origin(parts.scheme, parts.hostname, parts.port))
        hosts = tuple(host.strip().lower() for host in allowed_hosts if host.strip())
        return cls(frozenset(origins), hosts)

    def trusted(self, scheme: str, host: str, port: int | None) -> bool:
        return _origin(scheme, host, port) in self.trusted_origins

    def host_allowed(self, host: str) -> bool:
        host = host.lower().strip("[]").rstrip(".")
        return any(
            host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed))
            for allowed in self.allowed_hosts
        )

    def check_url(self, url: str) -> None:
        """Refuse an address outside the policy, before anything is sent."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AddressRefused(f"not an http(s) address: {parts.scheme or '?'}://…")
        self.check_host(parts.scheme, parts.hostname, parts.port)

    def check_host(self, scheme: str, host: str, port: int | None) -> None:
        if self.trusted(scheme, host, port):
            return
        if not self.host_allowed(host):
            raise AddressRefused(
                f"{host} is neither the platform nor a recording host of the allow-list "
                "(RECORDINGS_DOWNLOAD_HOSTS)"
            )
        try:
            infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
        except OSError:
            return  # unresolvable: the connection fails by itself
        for *_rest, sockaddr in infos:
            self.check_address(scheme, host, port, sockaddr[0])

    def check_address(self, scheme: str, host: str, port: int | None, address: str) -> None:
        if not self.trusted(scheme, host, port) and not is_public(address):
            raise AddressRefused(
                f"{host} resolves to {address}, which is not a public address "
                "(loopback, private or link-local addresses are never fetched)"
            )


class _GuardedConnection:
    """A urllib3 connection that checks its host, its resolved addresses and the address it got
    connected to against the policy."""

    policy: UrlPolicy
    scheme = "http"

    def _new_conn(self):
        self.policy.check_host(self.scheme, self.host, self.port)
        sock = super()._new_conn()
        try:
            self.policy.check_address(self.scheme, self.host, self.port, sock.getpeername()[0])
        except AddressRefused:
            sock.close()
            raise
        return sock


class GuardedAdapter(HTTPAdapter):
    """Every connection of the session it is mounted on follows ``policy`` (redirects too)."""

    def __init__(self, policy: UrlPolicy, **kwargs) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        plain = type("Connection", (_GuardedConnection, HTTPConnection), {"policy": self.policy})
        secure = type(
            "SecureConnection",
            (_GuardedConnection, HTTPSConnection),
            {"policy": self.policy, "scheme": "https"},
        )
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
            "https": type("SecurePool", (HTTPSConnectionPool,), {"ConnectionCls": secure}),
        }


def guard(session: requests.Session, policy: UrlPolicy) -> requests.Session:
    """Mount the policy on ``session`` for http and https (a session that already follows this
    very policy keeps its adapter, and with it its pooled connections)."""
    if all(
        isinstance(adapter, GuardedAdapter) and adapter.policy == policy
        for adapter in (session.get_adapter("http://"), session.get_adapter("https://"))
    ):
        return session
    adapter = GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A file server's cookies are never kept: a pooled session serves every recording."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False


_sessions = PerProcess()


def pooled_session(policy: UrlPolicy) -> requests.Session:
    """This process's download session for ``policy``, made on first use (issue 19).

    Its kept-alive connections serve one recording after another instead of a new session and a
    new connection (and, against a real file server, a TLS handshake) per recording. Every
    connection it opens was checked against ``policy`` when it was made, and a session only ever
    serves that policy. One per process (``privatenumber.transport.PerProcess``): a forked Celery
    child never reads from a socket of its parent's. A connection the server closed
    while idle is noticed by urllib3 before reuse; one broken under a request is the downloader's
    ordinary transport failure, resumed with a range.
    """

    def make() -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no proxy or .netrc from the environment
        session.cookies.set_policy(_NoCookies())
        return guard(session, policy)

    return _sessions.get(policy, make)


@dataclass(frozen=True)
class Downloaded:
    """The outcome of a complete download."""

    size: int
    sha256: str
    requests: int
    resumed: int
    restarted: int


class Downloader:
    """Downloads one file over ``session`` (one request at a time, no retries hidden in it).

    ``timeout`` is (connect, read) in seconds: the read timeout bounds the wait for each chunk,
    not the whole download. ``attempts`` bounds consecutive failed requests that brought no new
    byte; a request that brought bytes resets the count, and ``max_requests`` bounds them all.
    ``on_progress(bytes_so_far)`` is called after every chunk (the lease of the claim is renewed
    there; it may raise to abort). ``policy``: where files may come from (mounted on the session);
    None only for tests of the downloader itself.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: tuple[float, float],
        attempts: int = 5,
        max_requests: int = 100,
        backoff: float = 0.5,
        backoff_max: float = 10.0,
        max_bytes: int | None = None,
        on_progress: Callable[[int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        policy: UrlPolicy | None = None,
    ) -> None:
        self.session = guard(session, policy) if policy is not None else session
        self.policy = policy
        self.timeout = timeout
        self.attempts = attempts
        self.max_requests = max_requests
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_bytes = max_bytes
        self.on_progress = on_progress
        self.sleep = sleep

    def fetch(self, address: Callable[[bool], str | None], dest: BinaryIO) -> Downloaded:
        """Write the file at ``address(False)`` into ``dest`` (empty, opened ``w+b``)."""
        try:
            return self._fetch(address, dest)
        except AddressRefused as refused:
            raise DownloadFailed("ADDRESS_REFUSED", str(refused), transient=False) from None
        except (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL) as error:
            # A redirect to file://, gopher:// or no URL at all.
            raise DownloadFailed(
                "ADDRESS_REFUSED", f"not an http(s) address ({error})", transient=False
            ) from None

    def _fetch(self, address: Callable[[bool], str | None], dest: BinaryIO) -> Downloaded:
        url = address(False)
        if not url:
            raise DownloadFailed("GONE", "no download address", transient=False, gone=True)
        if self.policy is not None:
            self.policy.check_url(url)
        state = _Progress()
        failures = 0
        refreshed = False
        while True:
            if state.requests >= self.max_requests:
                raise DownloadFailed(
                    "INCOMPLETE",
                    f"gave up after {state.requests} requests at byte {state.written}",
                    transient=True,
                )
            before = state.written
            try:
                outcome = self._one_request(url, dest, state)
            except _TRANSPORT_ERRORS as error:
                outcome = f"connection broke at byte {state.written} ({type(error).__name__})"
            if outcome is None:
                return Downloaded(
                    size=state.written,
                    sha256=state.digest.hexdigest(),
                    requests=state.requests,
                    resumed=state.resumed,
                    restarted=state.restarted,
                )
            if outcome == _EXPIRED:
                if refreshed:
                    raise DownloadFailed(
                        "GONE",
                        "the file server does not have the file (a fresh address was refused too)",
                        transient=False,
                        gone=True,
                    )
                refreshed = True
                url = address(True)
                if not url:
                    raise DownloadFailed(
                        "GONE",
                        "the file server does not have the file (the address was refused)",
                        transient=False,
                        gone=True,
                    )
                if self.policy is not None:
                    self.policy.check_url(url)
                continue
            # Any other answer: the address worked, so a later refusal may be its expiry again.
            refreshed = False
            if state.written > before:
                failures = 0
            failures += 1
            if failures > self.attempts:
                raise DownloadFailed("INCOMPLETE", outcome, transient=True)
            logger.info("recording download: %s; resuming", outcome)
            self.sleep(min(self.backoff_max, self.backoff * 2 ** (failures - 1)))

    def _one_request(self, url: str, dest: BinaryIO, state: _Progress) -> str | None:
        """One GET; None when the file is complete, else why not (or ``_EXPIRED``)."""
        headers = {"Accept-Encoding": "identity"}
        if state.written:
            headers["Range"] = f"bytes={state.written}-"
        state.requests += 1
        with self.session.get(
            url, headers=headers, stream=True, timeout=self.timeout, allow_redirects=True
        ) as response:
            status = response.status_code
            if status == 416 and state.written and state.written == state.total:
                return None
            if status in _EXPIRED_STATUSES:
                return _EXPIRED
            if status >= 500 or status in _RETRY_STATUSES:
                return f"HTTP {status} from the file server"
            if status == 200:
                if state.written:
                    state.restart(dest)  # the server ignored the range: start over
                state.total = _int_or_none(response.headers.get("Content-Length"))
            elif status == 206:
                match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                if match is None or int(match.group(1)) != state.written:
                    state.restart(dest)
                    return "the file server answered another range than asked; starting over"
                state.total = None if match.group(3) == "*" else int(match.group(3))
                state.resumed += 1
            else:
                raise DownloadFailed(
                    "DOWNLOAD_HTTP", f"HTTP {status} from the file server", transient=False
                )
            if self.max_bytes is not None and (state.total or 0) > self.max_bytes:
                raise DownloadFailed(
                    "TOO_LARGE",
                    f"the file has {state.total} bytes, more than the {self.max_bytes} a call of "
                    "this length could produce",
                    transient=False,
                )
            # read1: whatever has arrived, up to CHUNK_SIZE, in one read of the socket. A full
            # read(CHUNK_SIZE) would wait for the whole MiB, and a connection cut meanwhile
            # would lose what had arrived of it instead of resuming after it. urllib3's
            # errors are raised as they are (_TRANSPORT_ERRORS), its length check included.
            raw = response.raw
            while chunk := raw.read1(CHUNK_SIZE, decode_content=True):
                dest.write(chunk)
                state.digest.update(chunk)
                state.written += len(chunk)
                if self.max_bytes is not None and state.written > self.max_bytes:
                    raise DownloadFailed(
                        "TOO_LARGE",
                        f"more than {self.max_bytes} bytes arrived for a call of this length",
                        transient=False,
                    )
                if self.on_progress is not None:
                    self.on_progress(state.written)
        if state.total is not None and state.written != state.total:
            return f"the connection closed at byte {state.written} of {state.total}"
        return None


_EXPIRED = "expired"


class _Progress:
    """Bytes written so far, their running sha256, and counters."""

    def __init__(self) -> None:
        self.written = 0
        self.total: int | None = None
        self.digest = hashlib.sha256()
        self.requests = 0
        self.resumed = 0
        self.restarted = 0

    def restart(self, dest: BinaryIO) -> None:
        dest.seek(0)
        dest.truncate()
        self.written = 0
        self.total = None
        self.digest = hashlib.sha256()
        self.restarted += 1


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
