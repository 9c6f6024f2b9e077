"""The Celery application: configured from Django settings (namespace ``CELERY``), JSON only."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender=None, **kwargs) -> None:
    """Drop connections that are broken or older than CONN_MAX_AGE, as Django does per request.

    With ``CELERY_DB_REUSE_MAX`` set, Celery keeps connections between tasks; without this a
    connection broken by a database restart would fail every task of its thread until the reuse
    count ran out. Eager tasks run inside their caller's transaction and are left alone.
    """
    from django.db import close_old_connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return

    close_old_connections()
