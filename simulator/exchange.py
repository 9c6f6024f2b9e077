"""One HTTP exchange as the simulator's parts see it: what they answer on, and two special ends.

The server (:mod:`simulator.server`) owns the connection. A platform interface is answered by an
:data:`InterfaceHandler`; the parts that answer a request themselves (the control API, the
recording files) get it as an :class:`Exchange`; none of them imports the server. An interface
whose success is a redirect raises :class:`Redirect`; a fault that cuts the connection raises
:class:`DropConnection`; the server carries both out.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message
from typing import Any, BinaryIO, Protocol

from simulator.config import AppConfig
from simulator.validate import Fields

# One platform interface's answer: the authenticated app and the request's fields in, the response
# body (without the envelope, which the server adds) out; a refusal raises results.PlatformError.
InterfaceHandler = Callable[[AppConfig, Fields], dict[str, Any]]


class Exchange(Protocol):
    """The request being answered (``http.server.BaseHTTPRequestHandler`` is one)."""

    command: str
    headers: Message
    wfile: BinaryIO

    def send_json(
        self, status: int, body: dict[str, Any] | list[Any], headers: dict[str, str] | None = None
    ) -> None: ...

    def send_empty(self, status: int, headers: dict[str, str] | None = None) -> None: ...

    def send_response(self, code: int, message: str | None = None) -> None: ...

    def send_header(self, keyword: str, value: str) -> None: ...

    def end_headers(self) -> None: ...


class Redirect(Exception):
    """An interface's success that is an HTTP 301 (the recording download address, §5.5)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class DropConnection(Exception):
    """Close the connection without answering (an injected fault)."""
