"""Thin Celery tasks of the shell: the demo's traffic."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from shell import demo


# Named as it was when it lived in console/tasks.py: django-celery-beat stores the name in its
# schedule rows, and an installation upgraded in place keeps calling it by that name.
@shared_task(name="console.tasks.demo_traffic_task", ignore_result=True)
def demo_traffic_task() -> None:
    """Demo only (DEMO_TRAFFIC): beat places a few calls on the simulator every minute."""
    if settings.DEMO_TRAFFIC:
        demo.place_demo_calls()
