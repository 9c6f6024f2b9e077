"""Launch ``celery`` for a benchmark, optionally with ``phonenumbers.geocoder`` loaded lazily.

``python -m bench._worker [--lazy-geocoder] <celery arguments>``. ``bindings.cities`` imports
``phonenumbers.geocoder`` at module level, which loads about 100 MB of geocoding data into every
process that imports bindings (every worker does, through task autodiscovery and the admin).
``--lazy-geocoder`` puts a stand-in module in its place that imports the real one on first use:
the same behaviour, the data loaded only by a process that geocodes (recording fetches never do).
It shows what the worker needs once that import is deferred in bindings.
"""

from __future__ import annotations

import importlib
import sys
import types

GEOCODER = "phonenumbers.geocoder"


class _LazyModule(types.ModuleType):
    def __getattr__(self, name: str):
        del sys.modules[GEOCODER]
        real = importlib.import_module(GEOCODER)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--lazy-geocoder":
        argv = argv[1:]
        sys.modules[GEOCODER] = _LazyModule(GEOCODER)
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *argv]
    celery_main()


if __name__ == "__main__":
    main(sys.argv[1:])
