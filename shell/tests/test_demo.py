"""The `make run` demo: simulator config and credentials (shell/demo.py)."""

from __future__ import annotations

import json

from console.models import Application
from shell import demo


def test_simulator_config_has_an_app_of_each_mode_in_5_cities_pushing_to_the_console(tmp_path):
    path = demo.write_simulator_config(tmp_path)
    config = json.loads(path.read_text())
    modes = [app["mode"] for app in config["apps"]]
    assert modes == ["AXB", "AX", "AXE", "AXYB"]
    assert next(app for app in config["apps"] if app["mode"] == "AXE")["extension_length"] == 4
    all_numbers = [n for app in config["apps"] for n in app["numbers"]]
    assert len(all_numbers) == 280
    assert len({n["number"] for n in all_numbers}) == 280
    assert {n["city"] for n in all_numbers} == {"0755", "020", "010", "021", "0571"}
    urls = Application.receiver_urls()
    assert all(app["fee_url"] == urls["fee_url"] for app in config["apps"])
    assert all(app["status_url"] == urls["status_url"] for app in config["apps"])


def test_credentials_are_generated_once(tmp_path):
    first = demo.credentials(tmp_path)
    assert first == demo.credentials(tmp_path)
    assert len({creds["app_key"] for creds in first.values()}) == 4
    config = json.loads(demo.write_simulator_config(tmp_path).read_text())
    assert config["apps"][0]["app_secret"] == first["AXB"]["app_secret"]


def test_credentials_of_an_older_demo_get_the_new_modes_and_keep_the_old(tmp_path):
    older = {"AXB": {"app_key": "k", "app_secret": "s"}}
    (tmp_path / "demo-apps.json").write_text(json.dumps(older))
    creds = demo.credentials(tmp_path)
    assert creds["AXB"] == {"app_key": "k", "app_secret": "s"}
    assert sorted(creds) == ["AX", "AXB", "AXE", "AXYB"]


def test_demo_traffic_places_calls_only_when_enabled(settings, monkeypatch):
    from shell import tasks

    placed = []
    monkeypatch.setattr(demo, "place_demo_calls", lambda: placed.append(1))
    settings.DEMO_TRAFFIC = False
    tasks.demo_traffic_task()
    assert placed == []
    settings.DEMO_TRAFFIC = True
    tasks.demo_traffic_task()
    assert placed == [1]
