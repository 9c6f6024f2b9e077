"""Entry point: ``python -m bench <name> [args...]``."""

from __future__ import annotations

import importlib
import json
import logging
import os
import pkgutil
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

# BENCH_RESULTS: another folder for the JSON results (the smoke test's runs, which must not
# replace the published ones).
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not m.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if not argv or argv[0] not in available():
        sys.stderr.write(
            f"usage: python -m bench <name> [args]\nbenchmarks: {', '.join(available())}\n"
        )
        return 2
    name, args = argv[0], argv[1:]
    # A benchmark stopped with SIGTERM (timeout, kill) still runs its finally blocks: its
    # gunicorn, workers and simulator stop, its database is dropped, its Redis claim given back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    module = importlib.import_module(f"bench.{name}")
    result = {"benchmark": name, "started": datetime.now(UTC).isoformat(), **module.run(args)}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(f"written to {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
