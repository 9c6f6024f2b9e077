"""Start the simulator from tests and benchmarks: ``with run_simulator(config) as sim: ...``.

The simulator runs as a real subprocess (``python -m simulator``) on a free port of 127.0.0.1, so
what is tested is exactly what the console meets. The handle gives its ``base_url``, a small client
for the ``/_sim/`` control API, the process, and ``restart()`` (same port, same state file).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0
CONTROL_TIMEOUT = 60.0


class SimulatorError(RuntimeError):
    """The simulator did not start, or a control request failed."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Control:
    """A client for the ``/_sim/`` control API. Every method returns the decoded JSON answer."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.session.request(
            method,
            f"{self.base_url}/_sim/{path}",
            json=body,
            params={k: v for k, v in params.items() if v is not None},
            timeout=CONTROL_TIMEOUT,
        )
        if response.status_code != 200:
            raise SimulatorError(f"{method} /_sim/{path}: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self.request("GET", "health")

    def add_app(self, app: dict[str, Any]) -> dict[str, Any]:
        """Add or replace one application (same shape as in the config file)."""
        return self.request("POST", "apps", app)

    def add_numbers(self, app_key: str, numbers: list[dict[str, Any]]) -> dict[str, Any]:
        return self.request("POST", "numbers", {"app_key": app_key, "numbers": numbers})

    def place_call(
        self, caller: str, called: str, outcome: str = "answered", **options: Any
    ) -> dict[str, Any]:
        """One call from ``caller`` to X ``called`` (options: duration, ring, extension, live)."""
        return self.request(
            "POST", "calls", {"caller": caller, "called": called, "outcome": outcome, **options}
        )

    def bulk_calls(self, app_key: str, count: int, **options: Any) -> dict[str, Any]:
        """``count`` completed calls over the app's bindings.

        Options: ``outcome`` (a name or ``{name: weight}``), ``duration``, ``events``.
        """
        return self.request("POST", "calls/bulk", {"app_key": app_key, "count": count, **options})

    def set_number_status(
        self, number: str, status: str, cause: str | None = None
    ) -> dict[str, Any]:
        return self.request(
            "POST", "numbers/status", {"number": number, "status": status, "cause": cause}
        )

    def send_sms(self, sender: str, x: str, content: str = "hello") -> dict[str, Any]:
        return self.request("POST", "sms", {"from": sender, "to": x, "content": content})

    def set_faults(self, interface: str = "*", **fault: Any) -> dict[str, Any]:
        """Faults for one interface (``axb.bind``, ``record.download``, ``*``); none clears."""
        return self.request("POST", "faults", {"interface": interface, **fault})

    def clear_faults(self) -> dict[str, Any]:
        return self.request("DELETE", "faults")

    def pushes(self, **filters: Any) -> list[dict[str, Any]]:
        """Pushes with their attempts (filters: kind, app_key, state, since_id, limit)."""
        return self.request("GET", "pushes", **filters)["pushes"]

    def wait_pushes(
        self, count: int, *, timeout: float = 10.0, **filters: Any
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` pushes match and none of them is still being sent."""
        deadline = time.monotonic() + timeout
        while True:
            pushes = self.pushes(**filters)
            if len(pushes) >= count and all(p["state"] != "sending" for p in pushes):
                return pushes
            if time.monotonic() > deadline:
                raise SimulatorError(
                    f"expected {count} pushes matching {filters}, saw {len(pushes)}"
                )
            time.sleep(0.05)

    def bindings(self, app_key: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        return self.request("GET", "bindings", app_key=app_key, kind=kind)["bindings"]

    def recording_info(self, name: str) -> dict[str, Any]:
        """Size and sha256 of a recording (``recordObjectName`` from the CDR)."""
        return self.request("GET", f"recordings/{name}")

    def recordings(self, app_key: str | None = None) -> list[dict[str, Any]]:
        return self.request("GET", "recordings", app_key=app_key)["recordings"]

    def reset(self, *, apps: bool = False) -> dict[str, Any]:
        return self.request("POST", "reset", {"apps": apps})

    def sweep(self) -> dict[str, Any]:
        return self.request("POST", "sweep", {})

    def metrics(self) -> dict[str, Any]:
        return self.request("GET", "metrics")


class SimulatorHandle:
    """A running simulator subprocess."""

    def __init__(self, args: list[str], port: int, log_path: Path, host: str = "127.0.0.1") -> None:
        self.args = args
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://{host}:{port}"
        self.control = Control(self.base_url)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "simulator", *self.args],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SimulatorError(f"simulator exited at start:\n{self.log()}")
            try:
                self.control.session.get(
                    f"{self.base_url}/_sim/health", timeout=1
                ).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise SimulatorError(f"simulator did not answer within {START_TIMEOUT}s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop cleanly (SIGTERM), killing only if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("simulator did not stop in %ss; killing it", timeout)
            self.process.kill()
            self.process.wait()
        self.control.session.close()

    def restart(self) -> None:
        """Stop and start again on the same port with the same state (file state survives)."""
        self.stop()
        self.control = Control(self.base_url)
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-20000:]
        except OSError:
            return ""


@contextmanager
def run_simulator(
    config: dict[str, Any],
    *,
    time_scale: float = 1,
    memory: bool = True,
    push_scheme: str = "AKSK",
    push_retry_header: str = "resign",
    extra_args: Sequence[str] = (),
    host: str = "127.0.0.1",
) -> Iterator[SimulatorHandle]:
    """Run ``python -m simulator`` with ``config`` (``{"apps": [...]}``) on a free port of
    ``host`` (loopback unless told: the multi-host test gives its network's gateway address).

    ``push_retry_header`` "reuse" sends every retry of a push with its first attempt's header.
    """
    with tempfile.TemporaryDirectory(prefix="pn-sim-") as tmp:
        config_path = Path(tmp) / "simulator.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        port = free_port(host)
        args = [
            "--host",
            host,
            "--port",
            str(port),
            "--config",
            str(config_path),
            "--time-scale",
            str(time_scale),
            "--push-scheme",
            push_scheme,
            "--push-retry-header",
            push_retry_header,
            *(["--memory"] if memory else ["--state", str(Path(tmp) / "state.sqlite3")]),
            *extra_args,
        ]
        handle = SimulatorHandle(args, port, Path(tmp) / "simulator.log", host)
        handle.start()
        try:
            yield handle
        finally:
            handle.stop()
