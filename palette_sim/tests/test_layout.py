"""The simulator's rooms load on their own: importing one does not load the whole simulator."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str) -> set[str]:
    """The palette_sim modules a fresh interpreter holds after running `statement`."""
    code = f"import sys; {statement}; print(' '.join(m for m in sys.modules if m.startswith('palette_sim')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        (
            "import palette_sim.fleet.records",
            ("palette_sim.fleet.generate", "palette_sim.harness", "palette_sim.palette"),
        ),
        ("from palette_sim import Fleet", ("palette_sim.palette", "palette_sim.harness", "palette_sim.edge")),
        ("import palette_sim.harness.ratelimit", ("palette_sim.fleet", "palette_sim.palette", "palette_sim.edge")),
        (
            "import palette_sim.palette.shapes.logs",
            ("palette_sim.palette.app", "palette_sim.harness", "palette_sim.edge"),
        ),
        (
            "import palette_sim.edge.app",
            ("palette_sim.palette.app", "palette_sim.palette.routes", "palette_sim.edge.tls"),
        ),
    ],
)
def test_it_loads_only_the_room_imported(statement: str, absent: tuple[str, ...]) -> None:
    loaded = loaded_after(statement)
    assert not {m for m in loaded if m.startswith(absent)}, sorted(loaded)


def test_it_still_offers_the_short_names() -> None:
    loaded = loaded_after("from palette_sim import Fleet, SimApp, EdgeApp, FaultConfig, generate_fleet")
    assert {"palette_sim.palette.app", "palette_sim.edge.app", "palette_sim.fleet.generate"} <= loaded
