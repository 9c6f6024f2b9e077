"""Where the CPU of one CDR push goes: in-process, without HTTP, beside the COPY anchor.

``python -m bench ingest_split [--pushes 600]``

``bench ingest`` measures the whole intake through gunicorn; this splits it, in one process on a
database of its own (``bench_split_<pid>_<random>``, dropped at the end) and a Redis database
claimed for the run:

1. **whole push, no HTTP**: each push handed to ``shell.hooks_wsgi.application`` as a WSGI
   environ (signed, the body in memory), in batches; this thread's CPU (``time.thread_time``)
   and its PostgreSQL backend's CPU (``/proc``), the median batch and the lowest;
2. **each statement alone**, 300 times, the backend's CPU and this thread's: the application by
   APP_Key, the ``Delivery`` insert and commit (the raw body), the CDR batch insert and commit
   (``billing.services.ingest_cdrs``; into the emptied table), the same rows ``COPY``ed into an
   empty table like it (the anchor), and what PostgreSQL
   spends only reading the batch's JSON into typed values;
3. **the Python steps** of a push, each timed alone (``timeit``, best of 7, this thread's CPU):
   pydantic's parse, building the 50 rows, encoding them as JSON, the CallRecords handed to
   ``cdrs_ingested``, the body's sha256, the signature check, decrypting the secret.

A sampling profiler (py-spy, ``--gil``) attached to a gunicorn worker agrees with 1 and 3; see
``docs/benchmarks.md`` (#19 cost per unit).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import time
import timeit
from typing import Any

from bench import _cost
from bench import ingest as base
from bindings import benchmarking


def _environ(body: bytes) -> dict[str, Any]:
    from privatenumber.auth import build_headers

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks/fee",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json;charset=UTF-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    for name, value in build_headers(base.APP_KEY, base.APP_SECRET, "AKSK").items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _push(application, environ: dict[str, Any]) -> None:
    statuses: list[str] = []
    answer = application(environ, lambda status, headers: statuses.append(status))
    b"".join(answer)
    answer.close()
    assert statuses[0].startswith("200"), statuses


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench ingest_split")
    parser.add_argument("--pushes", type=int, default=600)
    parser.add_argument("--batches", type=int, default=6)
    options = parser.parse_args(args)
    base.DB_NAME = _cost.run_name("bench_split")
    with base.own_redis():
        try:
            return {
                "command": "python -m bench ingest_split " + " ".join(args),
                "machine": f"{os.cpu_count()} cores",
                "load_average_before": [round(x, 2) for x in os.getloadavg()],
                **_measure(options),
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            }
        finally:
            base.admin_sql(f'DROP DATABASE IF EXISTS "{base.DB_NAME}" WITH (FORCE)')


def _measure(options: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    base.create_database(base.DB_NAME)
    base.setup_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from billing import services
    from console import crypto, hooks
    from console.inbox import receiving
    from console.models import Delivery
    from privatenumber import auth
    from privatenumber.schemas import FeePush
    from shell.hooks_wsgi import application as wsgi

    application = benchmarking.bench_application(base.APP_KEY, base.APP_SECRET, "https://127.0.0.1")

    # 1. Whole pushes through the WSGI application.
    warm = [_environ(body) for body in base.build_bodies(50, offset=10**9)]
    for environ in warm:
        _push(wsgi, environ)
    per = options.pushes // options.batches
    environs = [_environ(body) for body in base.build_bodies(per * options.batches)]
    backend = _cost.backend_pid(connection)
    python_ms, postgres_ms = [], []
    for index in range(options.batches):
        postgres_before, python_before = _cost.process_seconds(backend), time.thread_time()
        for environ in environs[index * per : (index + 1) * per]:
            _push(wsgi, environ)
        python_ms.append((time.thread_time() - python_before) * 1000 / per)
        postgres_ms.append((_cost.process_seconds(backend) - postgres_before) * 1000 / per)
    whole = {
        "python_ms_median": round(statistics.median(python_ms), 3),
        "python_ms_lowest": round(min(python_ms), 3),
        "postgres_ms_median": round(statistics.median(postgres_ms), 3),
        "postgres_ms_lowest": round(min(postgres_ms), 3),
    }

    # 2. Each statement alone (on fresh CDRs: the table keeps growing as in the intake).
    times = 300
    bodies = base.build_bodies(times * 2, offset=10**8)
    pushes = [FeePush.model_validate_json(body) for body in bodies]
    statements: dict[str, dict[str, float]] = {}

    def alone(name: str, work) -> None:
        postgres_before, python_before = _cost.process_seconds(backend), time.thread_time()
        work()
        statements[name] = {
            "postgres_ms": round(
                (_cost.process_seconds(backend) - postgres_before) * 1000 / times, 3
            ),
            "python_ms": round((time.thread_time() - python_before) * 1000 / times, 3),
        }

    def lookups() -> None:
        for _ in range(times):
            hooks._application(base.APP_KEY)

    inserted: dict[str, int] = {}

    def deliveries() -> None:
        # fresh bodies (offset 10**8): each must be a new row, not skipped by ON CONFLICT
        for body in bodies[:times]:
            with transaction.atomic():
                stored = receiving._insert(
                    application,
                    endpoint="fee",
                    kind="fee",
                    state="processed",
                    body=body,
                    digest=hashlib.sha256(body).hexdigest(),
                    scheme="AKSK",
                    items=50,
                )
            inserted["deliveries"] = inserted.get("deliveries", 0) + (stored is not None)

    def cdr_inserts() -> None:
        for push in pushes[:times]:
            with transaction.atomic():
                created = services.ingest_cdrs(application, push.fee_lst)
            inserted["cdrs"] = inserted.get("cdrs", 0) + created

    alone("application by APP_Key", lookups)
    alone("Delivery insert + commit (the raw body)", deliveries)
    with connection.cursor() as cursor:  # empty, as the anchor's table is
        cursor.execute("TRUNCATE billing_callrecord CASCADE")
    alone("CDR batch insert + commit (ingest_cdrs)", cdr_inserts)
    # each step measured what it claims: every row new, none skipped as already stored
    expected = {"deliveries": times, "cdrs": times * base.PER_PUSH}
    if inserted != expected:
        raise SystemExit(f"ingest_split: inserted {inserted}, expected {expected}")
    delivery_id = Delivery.objects.values_list("id", flat=True).first()
    connection.close()

    # The anchor and the JSON reading, on a connection of their own.
    texts = base.copy_texts(bodies[times:], application.pk, delivery_id)
    now = timezone.now()
    batches = [
        services.encode_rows([services._row(f, None, True, now) for f in push.fee_lst])
        for push in pushes[times:]
    ]
    read_only = ", ".join(
        "NULL::bigint" if name == "binding_id" else f"(e->>{index})::{kind}"
        for index, (name, kind) in enumerate(services._CDR_COLUMNS)
    )
    with psycopg.connect(base.database_url().replace("postgres://", "postgresql://")) as raw:
        with raw.cursor() as cursor:
            base.anchor_table(cursor)
        raw.commit()
        own = _cost.backend_pid(raw)
        postgres_before = _cost.process_seconds(own)
        client = base.copy_pushes(raw, texts)
        statements["COPY of the same 50 rows + commit (anchor)"] = {
            "postgres_ms": round((_cost.process_seconds(own) - postgres_before) * 1000 / times, 3),
            "python_ms": round(client * 1000 / times, 3),
        }
        postgres_before = _cost.process_seconds(own)
        for batch in batches:
            raw.execute(
                f"SELECT count(*) FROM (SELECT {read_only} "  # noqa: S608 - our own columns
                "FROM jsonb_array_elements(%s::jsonb) AS e) s",
                [batch],
                prepare=True,
            )
        raw.rollback()
        statements["reading the batch's JSON into typed values only"] = {
            "postgres_ms": round((_cost.process_seconds(own) - postgres_before) * 1000 / times, 3),
        }

    # 3. The Python steps, each alone.
    body = base.build_bodies(1, offset=10**7)[0]
    push = FeePush.model_validate_json(body)
    rows = {}
    for fee in push.fee_lst:
        row = services._row(fee, None, True, now)
        rows[row[services._KEY]] = row
    created = [(index, key, None) for index, key in enumerate(rows)]
    headers = auth.build_headers(base.APP_KEY, base.APP_SECRET, "AKSK")
    keys = os.environ["FIELD_ENCRYPTION_KEY"]
    steps = {
        "parse (FeePush.model_validate_json)": lambda: FeePush.model_validate_json(body),
        "build the 50 rows (_row)": lambda: [
            services._row(f, None, True, now) for f in push.fee_lst
        ],
        "encode the rows as JSON (encode_rows)": lambda: services.encode_rows(list(rows.values())),
        "CallRecords for cdrs_ingested (_saved_records)": lambda: services._saved_records(
            application, 1, now, rows, created
        ),
        "sha256 of the body": lambda: hashlib.sha256(body).hexdigest(),
        "signature: parse + verify": lambda: auth.verify_token(
            auth.parse_headers(headers), base.APP_SECRET
        ),
        "decrypt the APP_Secret": lambda: crypto._fernet(keys).decrypt(
            application.app_secret_encrypted.encode()
        ),
    }
    python_steps = {
        name: round(
            min(timeit.repeat(step, number=100, repeat=7, timer=time.thread_time)) / 100 * 1e6, 1
        )
        for name, step in steps.items()
    }
    return {
        "pushes": per * options.batches,
        "cdrs_per_push": base.PER_PUSH,
        "body_bytes": len(body),
        "whole_push_no_http_ms": whole,
        "statements_alone_ms_per_push": statements,
        "statements_alone_rows_inserted": inserted,
        "python_steps_us": python_steps,
    }
