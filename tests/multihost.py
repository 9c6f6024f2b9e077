"""Hosts in Linux network namespaces for the multi-host test (tests/test_multihost.py).

One bridge in the root namespace holds the network's gateway address (``10.231.N.1/24``); every
host is a namespace of its own with one end of a veth pair on that bridge and its own address.
PostgreSQL and Redis listen on 127.0.0.1 of the root namespace only (or wherever the suite's
URLs point), so a :class:`Forwarder` (asyncio, a thread of the test process) listens on the
gateway address and passes each connection on to them: a host reaches the database, the broker
and the simulator through the gateway address only, and nothing else exists for it.

Everything made here carries the test process's pid in its name and is removed by
:meth:`Network.down`, which never raises and is called in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT = 10  # seconds for one `ip` command


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip <args>``; its output, or RuntimeError naming the command when it fails."""
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def free_subnet(pid: int) -> str:
    """A /24 under 10.231.0.0/16 that no interface of the root namespace uses yet: ``10.231.N``."""
    used = ip("-4", "-o", "addr", "show")
    for step in range(200):
        prefix = f"10.231.{(pid + step) % 200 + 20}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free /24 left under 10.231.0.0/16")


@dataclass
class Host:
    """One namespace: its name, its address, the processes started in it and their logs."""

    role: str
    namespace: str
    address: str
    veth: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        """Start ``command`` inside the namespace (its own process group), output to ``log``."""
        with log.open("ab") as out:
            self.processes.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", self.namespace, *command],
                    cwd=cwd,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self.logs.append(log)

    def run(self, command: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
        """Run ``command`` inside the namespace and wait for it (bounded)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.namespace, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def pids(self) -> list[int]:
        """Every process living in the namespace (``ip netns pids``)."""
        output = ip("netns", "pids", self.namespace, check=False)
        return [int(pid) for pid in output.split()]

    def kill(self, *, timeout: float = 10.0) -> list[int]:
        """SIGKILL every process in the namespace, as a machine that is switched off; returns
        the pids killed. Waits (bounded) until the namespace has no process left."""
        killed: list[int] = []
        deadline = time.monotonic() + timeout
        for _attempt in range(100):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        return killed

    def stop(self) -> None:
        """SIGTERM the processes started here, then SIGKILL whatever is left in the namespace."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        self.kill(timeout=5)

    def tail(self, chars: int = 3000) -> str:
        parts = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                parts.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> list[str]:
    """Namespaces and bridges left by a test process that was killed before its teardown (their
    names end in its pid): their processes killed, they deleted. Returns what was removed."""
    removed = []
    for line in ip("netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith("pn-") or not name.rsplit("-", 1)[-1].isdigit():
            continue
        if _alive(int(name.rsplit("-", 1)[-1])):
            continue
        Host(role="stale", namespace=name, address="", veth="").kill(timeout=5)
        ip("netns", "delete", name, check=False)
        removed.append(name)
    for line in ip("-o", "link", "show", "type", "bridge", check=False).splitlines():
        name = line.split(":")[1].strip() if ":" in line else ""
        if name.startswith("pnbr") and name[4:].isdigit() and not _alive(int(name[4:])):
            ip("link", "delete", name, check=False)
            removed.append(name)
    return removed


class Network:
    """A bridge with the gateway address, and one namespace per host on it."""

    def __init__(self, roles: list[str], *, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.prefix = free_subnet(self.pid)
        self.gateway = f"{self.prefix}.1"
        self.bridge = f"pnbr{self.pid}"
        self.hosts = {
            role: Host(
                role=role,
                namespace=f"pn-{role}-{self.pid}",
                address=f"{self.prefix}.{10 + index}",
                veth=f"pnv{self.pid}{index}",
            )
            for index, role in enumerate(roles)
        }
        self.made: list[tuple[str, str]] = []  # what down() removes: ("netns"|"link", name)

    def up(self) -> Network:
        ip("link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for host in self.hosts.values():
            ip("netns", "add", host.namespace)
            self.made.append(("netns", host.namespace))
            peer = f"{host.veth}p"
            ip("link", "add", host.veth, "type", "veth", "peer", "name", peer)
            self.made.append(("link", host.veth))
            ip("link", "set", host.veth, "master", self.bridge, "up")
            ip("link", "set", peer, "netns", host.namespace)
            ip("-n", host.namespace, "link", "set", "lo", "up")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", peer)
            ip("-n", host.namespace, "link", "set", peer, "up")
        return self

    def down(self) -> list[str]:
        """Stop every host's processes, delete namespaces, veths and the bridge; never raises.
        Returns what could not be removed (empty when all went)."""
        for host in self.hosts.values():
            try:
                host.stop()
            except Exception:
                logger.warning("could not stop host %s", host.namespace, exc_info=True)
        left = []
        for kind, name in reversed(self.made):
            args = ("netns", "delete", name) if kind == "netns" else ("link", "delete", name)
            try:
                ip(*args)
            except Exception as error:  # a veth goes with its namespace: not an error
                if "Cannot find device" not in str(error):
                    left.append(f"{kind} {name}: {error}")
        self.made.clear()
        return left


class Forwarder:
    """TCP from ``listen_host:port`` to ``targets[port]`` (host, port) for each port, in a thread
    of its own.

    Each accepted connection opens one to the target and copies bytes both ways until either
    side closes; then both are closed (a killed host's database sessions end with it).
    """

    def __init__(self, listen_host: str, targets: dict[int, tuple[str, int]]) -> None:
        self.listen_host = listen_host
        self.targets = targets
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[asyncio.base_events.Server] = []

    def start(self) -> Forwarder:
        self.thread.start()
        for port in self.targets:
            future = asyncio.run_coroutine_threadsafe(self._serve(port), self.loop)
            self.servers.append(future.result(timeout=10))
        return self

    async def _serve(self, port: int) -> asyncio.base_events.Server:
        target_host, target_port = self.targets[port]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                target_reader, target_writer = await asyncio.wait_for(
                    asyncio.open_connection(target_host, target_port), timeout=5
                )
            except (OSError, TimeoutError):
                writer.close()
                return
            pipes = [
                asyncio.ensure_future(self._pipe(reader, target_writer)),
                asyncio.ensure_future(self._pipe(target_reader, writer)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                for end in (writer, target_writer):
                    end.close()

        return await asyncio.start_server(handle, self.listen_host, port, reuse_address=True)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    def stop(self) -> None:
        async def close() -> None:
            for server in self.servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()
