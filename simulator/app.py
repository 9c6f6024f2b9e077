"""The simulator assembled: store, platform rules, pushes, calls, SMS, recordings, HTTP server."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from pathlib import Path

from privatenumber.modes import Interface
from simulator import unconfirmed
from simulator.calls import CallEngine
from simulator.config import AppConfig
from simulator.control import Control
from simulator.exchange import InterfaceHandler
from simulator.faults import Faults
from simulator.metrics import Metrics
from simulator.platform import Platform
from simulator.pushes import PushQueue
from simulator.recordings import Recordings
from simulator.server import AuthLocks, NonceCache, Server, make_server
from simulator.sms import SmsEngine
from simulator.store import Store

logger = logging.getLogger(__name__)

NUMBERS_PER_STATUS_MESSAGE = 100


class Simulator:
    """Everything one simulator process runs."""

    def __init__(
        self,
        apps: list[AppConfig],
        *,
        state: str | Path | None,
        time_scale: float = 1.0,
        push_scheme: str = "AKSK",
        max_skew: float = unconfirmed.DEFAULT_MAX_SKEW_SECONDS,
        reject_replayed_nonce: bool = unconfirmed.REJECT_REPLAYED_NONCE,
        push_workers: int = 8,
        push_timeout: float = 5.0,
        cdr_window: float = 0.3,
        push_retry_header: str = unconfirmed.PUSH_RETRY_HEADER_DEFAULT,
    ) -> None:
        self.config_apps = apps
        self.store = Store(state)
        self.platform = Platform(self.store, time_scale=time_scale)
        for app in apps:
            self.platform.put_app(app)
        self.max_skew = max_skew
        self.nonces = NonceCache(max_skew) if reject_replayed_nonce else None
        self.auth_locks = AuthLocks(time_scale)
        self.faults = Faults()
        self.metrics = Metrics()
        self.pushes = PushQueue(
            self.store,
            self.platform,
            default_scheme=push_scheme,
            workers=push_workers,
            timeout=push_timeout,
            cdr_window=cdr_window,
            retry_header=push_retry_header,
        )
        self.recordings = Recordings(self.platform, self.store, self.faults)
        self.pushes.on_cdrs_pushed = self.recordings.cdrs_pushed
        self.calls = CallEngine(self.platform, self.store, self.pushes, self.recordings)
        self.sms = SmsEngine(self.platform, self.store, self.pushes)
        self.control = Control(self)
        self.server: Server | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        """The handler of every interface of the mode table: the modes, stop-call, recordings."""
        return {
            **self.platform.interfaces(),
            **self.calls.interfaces(),
            **self.recordings.interfaces(),
        }

    def sweep(self) -> int:
        with self.store.tx() as db:
            expired = self.platform.sweep(db)
            self.recordings.sweep(db)
        return expired

    def _sweep_loop(self) -> None:
        # Expiry is also applied inline by every interface; this keeps an idle store tidy.
        while not self._stop.wait(0.2):
            try:
                self.sweep()
            except Exception:
                logger.exception("sweeper failed; going on")

    def number_status(self, changes: list[tuple[str, str, str | None]]) -> list[int | None]:
        """Change X statuses and push numStatus, up to 100 numbers per message and app."""
        by_app: dict[str, list[dict[str, str]]] = defaultdict(list)
        for number, status, cause in changes:
            app_key = self.platform.set_number_status(number, status, cause)
            info = {"number": number, "status": status}
            if status == "10" and cause:
                info["cause"] = str(cause)
            by_app[app_key].append(info)
        pushed = []
        with self.store.tx() as db:
            for app_key, infos in by_app.items():
                app = self.platform.app(app_key)
                assert app is not None
                for i in range(0, len(infos), NUMBERS_PER_STATUS_MESSAGE):
                    body = {
                        "eventType": "numStatus",
                        "numInfo": infos[i : i + NUMBERS_PER_STATUS_MESSAGE],
                    }
                    pushed.append(self.pushes.enqueue(db, app, "numStatus", body))
        return pushed

    def reset(self, *, reload_apps: bool = False) -> None:
        self.calls.stop_all()
        self.faults.clear()
        self.auth_locks.clear()
        if not self.pushes.quiesce():
            logger.warning("reset: pushes still in flight after the push timeout")
        try:
            self.store.reset()
            if reload_apps:
                for app in self.config_apps:
                    self.platform.put_app(app)
        finally:
            self.pushes.resume()

    def start(self, host: str, port: int) -> Server:
        self.server = make_server(self, host, port)
        self.pushes.start()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="sweeper", daemon=True)
        self._sweeper.start()
        return self.server

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.calls.stop_all()
        self.pushes.stop()
        self.store.close()
