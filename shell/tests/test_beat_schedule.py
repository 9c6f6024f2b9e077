"""Beat names its tasks by string, and django-celery-beat keeps those names in its tables: every
name the schedule gives, the demo's included, is a task the workers know (issue 18 moved tasks
between packages and kept their names)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from shell.celery import app

SETTINGS = Path(__file__).resolve().parents[1] / "settings.py"


@pytest.fixture(scope="module")
def registered() -> set[str]:
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks
    return set(app.tasks)


@pytest.mark.parametrize("demo_traffic", ["false", "true"])
def test_every_task_the_beat_schedule_names_exists(registered, monkeypatch, demo_traffic):
    # given the settings as a `make run` demo (or a production console) reads them
    monkeypatch.setenv("DEMO_TRAFFIC", demo_traffic)
    schedule = runpy.run_path(str(SETTINGS))["CELERY_BEAT_SCHEDULE"]
    # then every scheduled name is a task a worker runs
    missing = {entry["task"] for entry in schedule.values()} - registered
    assert missing == set()
    assert ("demo-traffic" in schedule) == (demo_traffic == "true")


def test_the_demo_task_kept_the_name_beat_stored_before_it_moved(registered):
    from shell.tasks import demo_traffic_task

    assert demo_traffic_task.name == "console.tasks.demo_traffic_task"
    assert demo_traffic_task.name in registered
