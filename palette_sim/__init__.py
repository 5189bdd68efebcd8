"""A standalone simulator of the Palette REST API, for the demo, the tests and the benchmarks.

No Django imports here: the simulator stands in for a remote Palette and knows nothing of us.
"""

from palette_sim.app import SimApp
from palette_sim.fleet import Fleet

__all__ = ["Fleet", "SimApp"]
