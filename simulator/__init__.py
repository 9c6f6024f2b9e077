"""A standalone fake of Huawei Cloud's Privacy Protection Call platform (PrivateNumber).

Run it with ``python -m simulator --config simulator.json``; tests and benchmarks start it through
:func:`simulator.testing.run_simulator`. The console talks to it over HTTP exactly as to the real
platform; everything the simulator adds for tests lives under ``/_sim/``.
"""

from __future__ import annotations
