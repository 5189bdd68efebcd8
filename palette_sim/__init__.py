"""A standalone simulator of the Palette REST API and the Edge Host API, for the demo, the tests
and the benchmarks (see README, "The simulator").

No Django imports here: the simulator stands in for a remote Palette and knows nothing of us.
Its rooms, each importing only those below it (the contract in .importlinter):

- `edge/`: the Edge Host API every simulated host serves (app, TLS server, shapes);
- `palette/`: the Palette REST API (the app's pipeline, routes, handlers, response shapes);
- `harness/`: what makes it a test double (rate limits, faults, counters, the /__sim/ control API);
- `fleet/`: the data (records, generation, churn, the clock), no HTTP.

The names below are loaded on first use, so importing one room does not load the others.
"""

import importlib

_EXPORTS = {
    "EdgeApp": "palette_sim.edge.app",
    "FaultConfig": "palette_sim.harness.faults",
    "Fleet": "palette_sim.fleet.fleet",
    "SimApp": "palette_sim.palette.app",
    "generate_fleet": "palette_sim.fleet.generate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'palette_sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
