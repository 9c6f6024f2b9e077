"""X-number import: rows per second of the validation (preview) and of the confirmed import.

A separate database (``bench_number_import``) gets one application with ``--existing`` numbers
already in its pool (so the lookup of existing numbers searches a real table). A file of
``--rows`` numbers (CSV or XLSX), 1 % of them bad (an invalid number, an unknown city, a
duplicate of an earlier row, a number already in the pool, in turn), then goes through the same
services the web request and the two Celery tasks call, in this process: reading the file (what
the upload request does), ``validate_number_import`` (the preview task) and, after
``confirm_number_import``, ``run_number_import`` (the import task). Progress goes to Redis as in
production. The counts are checked afterwards.

    python -m bench number_import [--rows 50000] [--format csv|xlsx] [--existing 10000] [--keep]
"""

from __future__ import annotations

import argparse
import io
import os
import time

from bench import _cost
from bindings import benchmarking


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench number_import")
    parser.add_argument("--database", help="default: a database of the run's own, dropped after")
    parser.add_argument("--redis", help="default: a Redis database claimed for the run")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--existing", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(args)


def the_file(options: argparse.Namespace) -> tuple[bytes, int]:
    """The file's bytes and how many of its rows are bad."""
    lines: list[tuple[str, str]] = []
    bad = 0
    for i in range(1, options.rows + 1):
        number, city = f"171{i:08d}", ("0755", "010", "020", "0571")[i % 4]
        if i % 100 == 0:
            bad += 1
            kind = (i // 100) % 4
            if kind == 0:
                number = f"{i}"  # no phone number
            elif kind == 1:
                city = "0000"  # no such city
            elif kind == 2:
                number = f"171{i - 1:08d}"  # the row before it again
            else:
                number = f"170{i % options.existing:08d}"  # already in the pool
        lines.append((number, city))
    if options.format == "csv":
        text = "number,city_code\n" + "".join(f"{n},{c}\n" for n, c in lines)
        return text.encode(), bad
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["number", "city_code"])
    for line in lines:
        sheet.append(list(line))
    data = io.BytesIO()
    book.save(data)
    return data.getvalue(), bad


def run(args: list[str]) -> dict:
    options = parse(args)
    options.database = options.database or benchmarking.database_url(
        _cost.run_name("bench_number_import")
    )
    with _cost.OwnRedis(options.redis) as redis_url:
        return _run(options, redis_url)


def _run(options: argparse.Namespace, redis_url: str) -> dict:
    benchmarking.configure(
        options.database,
        redis_url=redis_url,
        queue=_cost.run_name("bench_number_import"),
        extra={"CACHE_URL": redis_url},
    )
    benchmarking.recreate_database(options.database)
    try:
        benchmarking.setup_django()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission

        from bindings import services
        from bindings.models import NumberImport, XNumber
        from console import jobs

        # The tasks run here, timed one by one; nothing goes to a broker.
        jobs.send = lambda *args, **kwargs: True

        application = benchmarking.bench_application()
        benchmarking.copy_numbers(application, options.existing)
        user = get_user_model().objects.create_user("bench", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="add_xnumber"))
        user = get_user_model().objects.get(pk=user.pk)
        content, bad = the_file(options)

        started = time.perf_counter()
        job = services.start_number_import(
            application, f"numbers.{options.format}", options.format, content, user=user
        )
        upload_seconds = time.perf_counter() - started

        started = time.perf_counter()
        job = services.validate_number_import(job.pk)
        validate_seconds = time.perf_counter() - started
        assert job.state == "previewed", job.error

        assert services.confirm_number_import(job, user=user)
        started = time.perf_counter()
        job = services.run_number_import(job.pk)
        import_seconds = time.perf_counter() - started
        assert job.state == "done", job.error

        imported = XNumber.objects.count() - options.existing
        job = NumberImport.objects.get(pk=job.pk)
        return {
            "rows": options.rows,
            "format": options.format,
            "file_bytes": len(content),
            "existing_numbers": options.existing,
            "load_average": os.getloadavg(),
            "upload_request_seconds": round(upload_seconds, 2),
            "validate_seconds": round(validate_seconds, 2),
            "validate_rows_per_second": round(options.rows / validate_seconds),
            "import_seconds": round(import_seconds, 2),
            "import_rows_per_second": round(options.rows / import_seconds),
            "checks": {
                "bad_rows": bad,
                "refused": job.refused_count,
                "imported": job.imported_count,
                "numbers_added": imported,
                "exact": job.refused_count == bad and imported == options.rows - bad,
            },
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not options.keep:
            benchmarking.drop_database(options.database)
