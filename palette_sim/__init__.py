"""A standalone simulator of the Palette REST API and the Edge Host API, for the demo, the tests
and the benchmarks (see README, "The simulator").

No Django imports here: the simulator stands in for a remote Palette and knows nothing of us.
"""

from palette_sim.app import SimApp
from palette_sim.edge_app import EdgeApp
from palette_sim.faults import FaultConfig
from palette_sim.fleet import Fleet

__all__ = ["EdgeApp", "FaultConfig", "Fleet", "SimApp"]
