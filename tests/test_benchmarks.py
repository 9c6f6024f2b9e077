"""Every benchmark of ``bench/`` still runs, at a tiny size, and its own checks pass.

A benchmark is run by hand, rarely; two had stopped working without anybody noticing
(``choose_x`` and ``list_pages`` wrote rows or passed values of a schema two issues old). Here
each runs as ``python -m bench <name>`` does, on its own database and Redis database, with its
JSON result written to a temporary folder (``BENCH_RESULTS``) instead of ``bench/results``. The
figures of such a run mean nothing; what is checked is that it ends, and that whatever it checks
about its results (counts, digests, states, the rows matching their filter) held.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import available

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]

# The smallest sizes at which each benchmark still measures something of every kind it reports
# (list_pages needs a 50th page of each list, recordings_pull calls long enough to be recorded).
TINY: dict[str, str] = {
    "api_create": "--bindings 60 --threads 4 --numbers 200",
    "api_get": "--bindings 2000 --numbers 100 --requests 100 --threads 2",
    "bind_http": "--binds 50 --rounds 2",
    "bind_worker": "--bindings 100 --numbers 200",
    "calls_list": "--rows 5000 --repeat 2",
    "choose_x": "--numbers 60 --bindings 300 --choices 20",
    "create_throughput": "--bindings 100 --threads 4 --workers 1 --numbers 200",
    "expire": "--numbers 50 --due 500 --later 500 --ended 500 --batch 200",
    "gateway_calls": "--calls 50",
    "ingest": "--pushes 40 --rounds 2 --warmup 4 --workers 1 --clients 2",
    "ingest_split": "--pushes 60 --batches 2",
    "insert": "--rounds 2 --rows 50",
    "list_pages": "--rows 6000 --x-numbers 6000 --repeat 1",
    "number_import": "--rows 200 --existing 50",
    "partition_insert": "--pushes 40 --round 20",
    "platform_call": "--rounds 2 --calls 50",
    "purge": "--rows 5000 --seconds 2",
    "recordings_pull": "--count 8 --min-seconds 20 --max-seconds 30 --big-seconds 40",
    "settle": "--month-calls 2000 --hour-calls 500",
    "webhook_delivery": "--events 100",
}


def test_every_benchmark_has_a_tiny_size():
    assert sorted(TINY) == available()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", sorted(TINY))
def test_the_benchmark_runs_and_its_checks_hold(name, tmp_path):
    args = TINY[name].split()
    published = REPO / "bench" / "results" / f"{name}.json"
    before = published.read_bytes() if published.exists() else None
    # Each benchmark picks its own database, Redis database and queue (as from a shell): none
    # is passed here, so a benchmark falling back on a fixed name would meet the CI run's twin.
    # What the benchmark sees is what a shell gives it: the test run's own database, Redis and
    # Django settings stay out of it.
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    }
    env["BENCH_RESULTS"] = str(tmp_path)
    finished = subprocess.run(
        [sys.executable, "-m", "bench", name, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    result = json.loads((tmp_path / f"{name}.json").read_text())
    assert result["benchmark"] == name
    if "correct" in result:
        assert result["correct"] is True, result
    # the published result is left as it was
    assert (published.read_bytes() if published.exists() else None) == before


@pytest.mark.parametrize("name", ["api_create", "choose_x"])
def test_two_runs_never_share_a_database_redis_database_or_queue(name):
    """Their names were fixed (``bench_api``, Redis database 4, ``bench_bind``): two runs at
    once dropped each other's database and purged each other's queue."""
    module = importlib.import_module(f"bench.{name}")
    first, second = module.parse([]), module.parse([])
    assert first.database != second.database
    assert first.redis is None  # claimed for the run when it starts (bench._cost.OwnRedis)
    if name == "api_create":
        assert first.queue != second.queue
    given = module.parse(["--database", "postgres://postgres@127.0.0.1:5432/mine"])
    assert given.database.endswith("/mine")


def test_the_ingest_environment_wants_a_claimed_redis_database(monkeypatch):
    from bench import ingest

    monkeypatch.setattr(ingest, "REDIS_URL", None)
    with pytest.raises(RuntimeError, match="Redis database"):
        ingest.bench_env()
    monkeypatch.setattr(ingest, "REDIS_URL", "redis://127.0.0.1:6379/13")
    assert ingest.bench_env()["CACHE_URL"] == "redis://127.0.0.1:6379/13"


def test_a_run_claims_its_own_redis_database_and_gives_it_back(monkeypatch):
    import redis

    from bench import _cost, ingest

    monkeypatch.setattr(ingest, "REDIS_URL", None)
    with ingest.own_redis() as url:
        assert ingest.bench_env()["REDIS_URL"] == url
        client = redis.Redis.from_url(url)
        ours = client.get(_cost.CLAIM_KEY)
        assert ours  # claimed, in the database itself
        with ingest.own_redis() as nested:  # already one of its own: the same, not another
            assert nested == url
        assert client.get(_cost.CLAIM_KEY) == ours  # the nested block gave nothing back
    assert ingest.REDIS_URL is None
    assert client.get(_cost.CLAIM_KEY) != ours  # given back (another run may hold it since)
    client.close()
