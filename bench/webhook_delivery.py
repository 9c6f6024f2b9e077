"""Webhook deliveries per second to a local receiver (issue 15: goal ≥ 1,000/s on this machine).

A database, a Redis database and a queue of the run's own; a receiver process on loopback
(``bench/_receiver.py``: verifies every signature, counts each ``webhook-id`` once); Celery worker
processes of the run's own. The outbox is filled in one transaction (``console.webhooks.emit_many``:
``--events`` events, each to every one of ``--subscriptions`` endpoints of the same receiver),
its deliveries queued on commit, and the clock runs from the commit until every delivery is
``delivered``. Checked: the receiver accepted each delivery's id exactly once, no signature was
bad, one attempt row per delivery.

The anchor, measured before and after in the same run: the same number of requests, signed the
same way, POSTed by ``--concurrency`` × ``--workers`` threads of one process over kept-alive
connections straight to the same receiver (no database, no queue): what the receiver and HTTP on
loopback allow. Reported: deliveries/s (wall), and CPU ms per delivery of the workers,
PostgreSQL, the receiver, and the filling process (enqueueing).

    python -m bench webhook_delivery [--events 5000] [--subscriptions 4] [--workers 2]
                                     [--pool threads] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench import _cost
from bench.create_throughput import REPO, start_workers, stop_workers
from bindings import benchmarking


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench webhook_delivery")
    parser.add_argument("--database", default=None)
    parser.add_argument("--redis", default=None, help="default: a Redis db claimed for the run")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])
    parser.add_argument("--concurrency", type=int, default=8, help="per worker process")
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args(args)
    name = _cost.run_name("bench_hooks")
    options.database = options.database or benchmarking.database_url(name)
    options.queue = name
    return options


def run(args: list[str]) -> dict:
    options = parse(args)
    workers: list[subprocess.Popen] = []
    receiver = None
    with _cost.OwnRedis(options.redis) as redis_url:
        benchmarking.configure(
            options.database,
            redis_url=redis_url,
            queue=options.queue,
            extra={"WEBHOOK_MAX_IN_FLIGHT": str(options.concurrency * options.workers)},
        )
        benchmarking.recreate_database(options.database)
        try:
            benchmarking.setup_django()
            from console import webhooks

            secret = webhooks.new_secret()
            receiver = subprocess.Popen(
                [sys.executable, "-m", "bench._receiver", secret],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            port = int(receiver.stdout.readline())
            return measure(options, workers, receiver, f"http://127.0.0.1:{port}", secret)
        finally:
            stop_workers(workers)
            if receiver is not None:
                receiver.kill()
            from django.db import connections

            connections.close_all()
            if not options.keep:
                benchmarking.drop_database(options.database)


def counts(base: str) -> tuple[int, int, int]:
    import requests

    accepted, requests_seen, bad = requests.get(f"{base}/count", timeout=10).text.split()
    return int(accepted), int(requests_seen), int(bad)


def anchor(base: str, secret: str, bodies: list[tuple[str, str]], threads: int, meter) -> dict:
    """The same signed requests straight from threads of this process over kept-alive
    connections, with the HTTP client the console delivers with (urllib3)."""
    import urllib3

    from console import webhooks

    http = urllib3.PoolManager(maxsize=threads, retries=False)
    before_count = counts(base)[0]

    def post(item: tuple[str, str]) -> int:
        msg_id, body = item
        headers = webhooks.sign(secret, msg_id, body)
        return http.request("POST", f"{base}/hook", body=body.encode(), headers=headers).status

    before = meter.read()
    started = _cost.wall()
    with ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(post, bodies))
    seconds = _cost.wall() - started
    used = _cost.difference(meter.read(), before)
    assert set(codes) == {204}, set(codes)
    assert counts(base)[0] - before_count == len(bodies), "the anchor lost requests"
    return {
        "requests": len(bodies),
        "seconds": round(seconds, 2),
        "per_second": round(len(bodies) / seconds, 1),
        "cpu_ms_per_request": _cost.per_unit_ms(
            {"sender": used["bench"], "receiver": used["receiver"]}, len(bodies)
        ),
    }


def measure(options, workers, receiver, base: str, secret: str) -> dict:
    from django.db import transaction

    from console import webhooks
    from console.choices import WebhookState
    from console.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
    from shell.celery import app

    application = benchmarking.bench_application()
    for index in range(options.subscriptions):
        subscription = WebhookSubscription(application=application, url=f"{base}/hook?s={index}")
        subscription.set_secret(secret)
        subscription.save()
    app.control.purge()
    workers.extend(start_workers(options))
    worker_pids = [w.pid for w in workers]
    meter = _cost.Meter(
        database=benchmarking._maintenance(options.database)[1],
        groups={
            "workers": lambda procs: procs.descendants(worker_pids),
            "receiver": lambda procs: [receiver.pid],
        },
    )
    deliveries = options.events * options.subscriptions
    sample = [
        (f"msg_anchor_{i}", f'{{"type":"binding.created","data":{{"id":{i}}}}}')
        for i in range(deliveries)
    ]
    threads = options.concurrency * options.workers

    def fill(count: int, prefix: str) -> int:
        with transaction.atomic():
            return webhooks.emit_many(
                (application.pk, "binding.created", {"id": i, "order_ref": f"{prefix}{i}"})
                for i in range(count)
            )

    def wait_delivered(total: int, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while WebhookDelivery.objects.filter(state=WebhookState.DELIVERED).count() < total:
            if time.monotonic() > deadline:
                raise RuntimeError("deliveries still open after the timeout")
            time.sleep(0.05)

    with meter:
        # Warm up: connections, imports, the receiver's threads.
        fill(200, "warm-")
        wait_delivered(200 * options.subscriptions)
        anchor(base, secret, sample[:500], threads, meter)
        first_anchor = anchor(base, secret, [(f"a1{m}", b) for m, b in sample], threads, meter)
        accepted_before = counts(base)[0]
        before = meter.read()
        started = _cost.wall()
        made = fill(options.events, "run-")
        filled = _cost.wall()
        fill_cpu = _cost.difference(meter.read(), before)["bench"]
        wait_delivered(made + 200 * options.subscriptions)
        seconds = _cost.wall() - started
        used = _cost.difference(meter.read(), before)
        accepted, _seen, bad = counts(base)
        second_anchor = anchor(base, secret, [(f"a2{m}", b) for m, b in sample], threads, meter)
    assert made == deliveries, (made, deliveries)
    assert accepted - accepted_before == deliveries, "a delivery was lost or accepted twice"
    assert bad == 0
    assert WebhookAttempt.objects.count() == WebhookDelivery.objects.count()
    rate = deliveries / seconds
    anchor_rate = (first_anchor["per_second"] + second_anchor["per_second"]) / 2
    return {
        "deliveries": deliveries,
        "events": options.events,
        "subscriptions": options.subscriptions,
        "workers": f"{options.workers} × {options.pool} {options.concurrency}",
        "seconds": round(seconds, 2),
        "fill_seconds": round(filled - started, 2),
        "deliveries_per_second": round(rate, 1),
        # the same, from the moment the outbox was committed (its tasks queued)
        "deliveries_per_second_after_commit": round(deliveries / (seconds - (filled - started)), 1),
        "cpu_ms_per_delivery": _cost.per_unit_ms(
            {
                "workers": used["workers"],
                "postgres": used["postgres"],
                "receiver": used["receiver"],
                "filling process": fill_cpu,
            },
            deliveries,
        ),
        "anchor_before": first_anchor,
        "anchor_after": second_anchor,
        "ratio_to_anchor": round(rate / anchor_rate, 2),
        "load_average": os.getloadavg(),
    }
