"""``python -m simulator``: run the PrivateNumber platform simulator."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from simulator import unconfirmed
from simulator.app import Simulator
from simulator.config import ConfigError, load_config

logger = logging.getLogger("simulator")

DEFAULT_STATE = Path("var/simulator.sqlite3")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Fake Huawei Cloud PrivateNumber platform."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--config", help="JSON file with the apps (see simulator/README.md)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--memory", action="store_true", help="keep state in memory only")
    where.add_argument("--state", type=Path, default=DEFAULT_STATE, help="SQLite state file")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="divide every platform delay (retries, durations, lifetimes) by N",
    )
    parser.add_argument("--push-scheme", choices=("AKSK", "WSSE"), default="AKSK")
    parser.add_argument(
        "--max-skew",
        type=float,
        default=unconfirmed.DEFAULT_MAX_SKEW_SECONDS,
        help="seconds Created may differ from the clock (1010013 beyond)",
    )
    parser.add_argument("--reject-replayed-nonce", action="store_true")
    parser.add_argument("--push-workers", type=int, default=8)
    parser.add_argument(
        "--push-retry-header",
        choices=unconfirmed.PUSH_RETRY_HEADER_MODES,
        default=unconfirmed.PUSH_RETRY_HEADER_DEFAULT,
        help="sign every push attempt anew, or reuse the first attempt's header on retries",
    )
    parser.add_argument("--push-timeout", type=float, default=5.0, help="seconds per push attempt")
    parser.add_argument(
        "--cdr-window", type=float, default=0.3, help="seconds CDRs wait to be merged into a push"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        apps = load_config(args.config) if args.config else []
    except ConfigError as exc:
        logger.error("%s", exc)
        return 2
    try:
        sim = Simulator(
            apps,
            state=None if args.memory else args.state,
            time_scale=args.time_scale,
            push_scheme=args.push_scheme,
            max_skew=args.max_skew,
            reject_replayed_nonce=args.reject_replayed_nonce,
            push_workers=args.push_workers,
            push_timeout=args.push_timeout,
            cdr_window=args.cdr_window,
            push_retry_header=args.push_retry_header,
        )
    except (RuntimeError, OSError) as exc:  # e.g. a state file of another schema
        logger.error("%s", exc)
        return 2
    server = sim.start(args.host, args.port)

    def shut_down(signum: int, frame: object) -> None:
        logger.info("signal %s: stopping", signum)
        # shutdown() waits for serve_forever() to return, so it runs off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    host, port = server.server_address[:2]
    logger.info(
        "PrivateNumber simulator on http://%s:%s (%d apps, time scale %g, pushes %s)",
        host,
        port,
        len(sim.platform.apps()),
        args.time_scale,
        args.push_scheme,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        sim.server = None
        server.server_close()
        sim.stop()
        logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
