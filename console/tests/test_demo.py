"""The `make run` demo: simulator config and credentials (console/demo.py)."""

from __future__ import annotations

import json

from console import demo
from console.models import Application


def test_simulator_config_has_two_apps_200_numbers_in_5_cities_pushing_to_the_console(tmp_path):
    path = demo.write_simulator_config(tmp_path)
    config = json.loads(path.read_text())
    modes = [app["mode"] for app in config["apps"]]
    assert modes == ["AXB", "AX"]
    all_numbers = [n for app in config["apps"] for n in app["numbers"]]
    assert len(all_numbers) == 200
    assert len({n["number"] for n in all_numbers}) == 200
    assert {n["city"] for n in all_numbers} == {"0755", "020", "010", "021", "0571"}
    urls = Application.receiver_urls()
    assert all(app["fee_url"] == urls["fee_url"] for app in config["apps"])
    assert all(app["status_url"] == urls["status_url"] for app in config["apps"])


def test_credentials_are_generated_once(tmp_path):
    first = demo.credentials(tmp_path)
    assert first == demo.credentials(tmp_path)
    assert first["AXB"]["app_key"] != first["AX"]["app_key"]
    config = json.loads(demo.write_simulator_config(tmp_path).read_text())
    assert config["apps"][0]["app_secret"] == first["AXB"]["app_secret"]


def test_demo_traffic_places_calls_only_when_enabled(settings, monkeypatch):
    from console import tasks

    placed = []
    monkeypatch.setattr(demo, "place_demo_calls", lambda: placed.append(1))
    settings.DEMO_TRAFFIC = False
    tasks.demo_traffic_task()
    assert placed == []
    settings.DEMO_TRAFFIC = True
    tasks.demo_traffic_task()
    assert placed == [1]
