"""The shape of the bindings app holds: what differs by mode is read from the mode table, the
services never import their tasks, and every file can be held in mind."""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1]
# The table itself names the modes; the benchmarks' helper builds an AXB application.
TABLE = {"modes.py", "benchmarking.py"}
# A line that decides something by a binding mode's name: Mode.AXB, mode == "AX", a tuple or a
# dict of mode names.
SWITCH = re.compile(
    r"Mode\.(AXB|AX|AXE|AXYB|X)\b"
    r"|mode\w*\s*(==|!=|=|\bin\b|\bnot in\b)\s*\(?[\"'](AXB|AX|AXE|AXYB|X)[\"']"
    r"|\([\"'](AXB|AX|AXE|AXYB)[\"'],"
    r"|^\s*[\"'](AXB|AX|AXE|AXYB)[\"']\s*:"
)


def sources(*, templates: bool = False) -> list[Path]:
    found = [
        path
        for path in APP.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]
    if templates:
        found += list(APP.rglob("*.html"))
    return sorted(found)


def test_nothing_switches_on_a_modes_name_outside_the_mode_table():
    switches = [
        f"{path.relative_to(APP)}:{number}: {line.strip()}"
        for path in sources(templates=True)
        if path.name not in TABLE
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SWITCH.search(line)
    ]
    assert switches == []


def test_the_check_above_sees_a_switch():
    assert SWITCH.search("        if binding.mode == Mode.AXYB:")
    assert SWITCH.search('    {% if row.mode == "AXE" %}')
    assert SWITCH.search('PLATFORM_EXPIRES = ("AXB", "AXE", "AXYB")')
    assert not SWITCH.search("    if mode.two_steps:")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_services_never_import_their_tasks():
    """bindings.tasks imports the services; they queue its tasks through services.work."""
    offenders = [
        str(path.relative_to(APP))
        for path in (APP / "services").glob("*.py")
        if any(name.startswith("bindings.tasks") for name in imported(path))
    ]
    assert offenders == []
    assert "bindings.services" in imported(APP / "tasks.py")


def test_no_file_of_the_app_is_over_600_lines():
    long = {
        str(path.relative_to(APP)): length
        for path in sources()
        if (length := len(path.read_text().splitlines())) > 600
    }
    assert long == {}
