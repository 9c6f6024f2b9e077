"""The floors hold (issue 18): no module imports one of a higher floor, the simulator stands
apart, and docs/architecture.md lists every import that crosses an app boundary as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# In a process of its own: import-linter configures logging, which would silence the suite's.
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(no_cache=True, no_logo=True))"
)


def test_no_floor_imports_a_higher_one_and_the_simulator_stands_apart():
    # the contracts of pyproject.toml ([tool.importlinter]); the report says what broke
    result = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_the_architecture_page_lists_every_import_across_the_floors():
    listed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "boundaries.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert f"```\n{listed}```" in page, "run scripts/boundaries.py and paste its output there"
