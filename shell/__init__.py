"""The shell: the top floor, the one place that knows every app (issue 18).

Settings, URLs, both WSGI entry points, the Celery app, gunicorn's settings, the landing page, the
console's navigation and the `make run` demo. Nothing below imports it; the Celery app is loaded
here so that ``@shared_task`` everywhere binds to it.
"""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ["celery_app"]
