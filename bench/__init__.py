"""Benchmarks: ``python -m bench <name>`` runs ``bench/<name>.py`` and writes its JSON result.

Each benchmark module defines ``run(args: list[str]) -> dict`` and documents what it measures in
its docstring. Results land in ``bench/results/<name>.json``; the figures go into
``docs/benchmarks.md`` with the command that produced them.
"""
