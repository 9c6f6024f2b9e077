"""Every import that crosses an app boundary, one line per importing module.

Usage: ``python scripts/boundaries.py`` prints the list that ``docs/architecture.md`` carries
under "Imports across the floors" (``console/tests/test_architecture.py`` fails when the two
differ: paste the new output there). Reads the source, runs nothing; imports inside functions
count as much as those at the top. Tests (``*/tests/``) and ``bench/`` are left out, as they are
from the import-linter contracts in ``pyproject.toml``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# From the ground floor up (the simulator stands beside the floors).
APPS = ("privatenumber", "simulator", "console", "bindings", "billing", "recordings", "shell")


def imported_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from console import audit`` names the module console.audit when it is one
            for alias in node.names:
                candidate = ROOT.joinpath(*node.module.split("."), alias.name)
                is_module = candidate.with_suffix(".py").is_file() or candidate.is_dir()
                found.add(f"{node.module}.{alias.name}" if is_module else node.module)
    return found


def crossings() -> list[str]:
    lines = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "tests" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            others = sorted(
                name
                for name in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
                if name.split(".")[0] in APPS and name.split(".")[0] != app
            )
            if others:
                lines.append(f"{module} → {', '.join(others)}")
    return lines


def main() -> int:
    sys.stdout.write("\n".join(crossings()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
