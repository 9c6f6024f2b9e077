"""gunicorn as the console runs it: a worker that slow clients cannot stall, an access log that
never carries a full real number. Configured in ``console/gunicorn_config.py``.

:class:`GuardedThreadWorker` is gunicorn's threaded worker (``gthread``) that reads each request's
head, and its body when small, in its event loop, without taking a thread: a request is handed to
a thread only once it has fully arrived. gthread gave a thread to every connection with a byte
to read and let it wait, with no timeout, for the rest of the headers: ten idle half-sent
requests (slowloris) held every thread of a ``--workers 2 --threads 4`` server for more than 70 s.
Here idle connections cost a file descriptor, and one whose head (or small body) has not arrived
within ``GUNICORN_HEADER_TIMEOUT`` seconds is answered 408 and closed. A large body (an upload)
is read by a thread whose every read must bring data within ``GUNICORN_IDLE_TIMEOUT`` seconds.

:class:`MaskingLogger` writes the access log with the numbers in request lines, query strings
and referrers masked (``console.numbers.mask_url``): a search by number put the full number in
the log.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn, ThreadWorker

from console.logs import MaskNumbers
from console.numbers import mask_url

HEADER_TIMEOUT = float(os.environ.get("GUNICORN_HEADER_TIMEOUT", "10"))
IDLE_TIMEOUT = float(os.environ.get("GUNICORN_IDLE_TIMEOUT", "30"))
# Bodies up to this size are read before a thread is given (forms, pushes of at most 1 MB).
BUFFERED_BODY = 1024 * 1024 + 64 * 1024
# A head larger than this is handed to gunicorn's parser, which refuses it (431/400).
MAX_HEAD = 64 * 1024
_END_OF_HEAD = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r\n", re.I)
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _IdleTimeoutSocket(socket.socket):
    """A client socket whose "blocking" mode still gives up after ``IDLE_TIMEOUT`` seconds
    without data (gthread's threads put every socket back in blocking mode)."""

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(IDLE_TIMEOUT)
        else:
            super().setblocking(False)


class GuardedThreadWorker(ThreadWorker):
    """gthread, except that a request gets a thread only once its head (and a small body) is in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.arriving: deque[TConn] = deque()

    # --- new and kept-alive connections wait for a whole request in the event loop ---------

    def accept(self, listener):
        if self.cfg.is_ssl:  # TLS ends at the proxy in this console; keep gthread's way
            return super().accept(listener)
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock = _IdleTimeoutSocket(
            client_sock.family, client_sock.type, client_sock.proto, fileno=client_sock.detach()
        )
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._await_request(conn)

    def on_client_socket_readable(self, conn, client):
        if self.cfg.is_ssl:
            return super().on_client_socket_readable(conn, client)
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_request(conn)
        self._read_some(conn, client)

    def _await_request(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        conn.head = bytearray()
        conn.head_deadline = time.monotonic() + HEADER_TIMEOUT
        self.arriving.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_some, conn))

    def _read_some(self, conn: TConn, client) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        conn.head += data
        if self._arrived(conn.head):
            self._forget(conn)
            self._dispatch(conn)

    @staticmethod
    def _arrived(head: bytearray) -> bool:
        """The whole head is in, and the whole body too unless it is large."""
        end = head.find(_END_OF_HEAD)
        if end < 0:
            return len(head) > MAX_HEAD
        length = _CONTENT_LENGTH.search(head, 0, end + 2)
        if length is None:
            return True  # no body, or a chunked one: read by the thread, under IDLE_TIMEOUT
        size = int(length.group(1))
        return size > BUFFERED_BODY or len(head) >= end + len(_END_OF_HEAD) + size

    def _dispatch(self, conn: TConn) -> None:
        conn.init()  # creates the parser on the first request
        conn.sock.setblocking(True)  # that is: reads and writes give up after IDLE_TIMEOUT
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head = bytearray()
        conn.data_ready = True
        self.enqueue_req(conn)

    def _forget(self, conn: TConn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        with contextlib.suppress(ValueError):
            self.arriving.remove(conn)

    def _drop(self, conn: TConn, answer: bytes = b"") -> None:
        self._forget(conn)
        if answer:
            with contextlib.suppress(OSError):
                conn.sock.send(answer)
        self.nr_conns -= 1
        conn.close()

    # --- requests that do not arrive in time -------------------------------------------------

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        while self.arriving and self.arriving[0].head_deadline <= now:
            conn = self.arriving[0]
            self._drop(conn, _TIMED_OUT if conn.head else b"")


class MaskingLogger(Logger):
    """gunicorn's logger, with every phone number of the access log's URLs masked."""

    _URL_ATOMS = ("r", "q", "f", "{referer}i", "{referrer}i")

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in self._URL_ATOMS:
            value = atoms.get(name)
            if isinstance(value, str) and value:
                atoms[name] = mask_url(value) if name != "q" else mask_url("?" + value)[1:]
        return atoms

    def setup(self, cfg):
        super().setup(cfg)
        # The error log names the request it failed on ("Error handling request /calls/?q=…").
        self.error_log.addFilter(MaskNumbers())
