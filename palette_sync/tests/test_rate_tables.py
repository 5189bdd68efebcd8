"""The client's and the simulator's rate tables are the published one in docs/REFERENCE.md section 5.

The reference says its table is authoritative for the simulator and the throttle; this holds both
copies to it, row for row, so neither can drift (and the bench, which takes its least times from
the simulator's table, measures against the same numbers the throttle paces by).
"""

import re
from pathlib import Path

import pytest

from palette_sim.harness import ratelimit
from palette_sync.throttle import PUBLISHED_LIMITS, family_for

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "REFERENCE.md"
ROW = re.compile(r"^\| `(?P<prefix>/v1/[^`]*)` \| (?P<rps>\d+) \| (?P<burst>\d+) \| (?P<max>\d+) \|$")


def published() -> list[tuple[str, int, int]]:
    """The rows of the rate-limit table in section 5 of the API reference, in its order."""
    text = REFERENCE.read_text()
    section = text[text.index("\n## 5.") : text.index("\n## 6.")]
    rows = []
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            prefix, rps, burst, most = match["prefix"], int(match["rps"]), int(match["burst"]), int(match["max"])
            assert most == rps * burst, f"{prefix}: max {most} is not rps × burst"
            rows.append((prefix, rps, burst))
    return rows


def test_it_reads_the_whole_published_table() -> None:
    rows = published()
    assert len(rows) == 65
    assert ("/v1/dashboard", 10, 5) in rows
    assert ("/v1/spectroclusters", 50, 5) in rows
    assert ("/v1/auth/user/password/reset", 2, 5) in rows


def test_it_holds_the_clients_table_to_the_published_one() -> None:
    assert list(PUBLISHED_LIMITS) == published()


def test_it_holds_the_simulators_table_to_the_published_one() -> None:
    assert list(ratelimit.PUBLISHED) == published()


def example_path(prefix: str) -> str:
    """A request path under `prefix`, its `:x` / `{x}` segments filled in."""
    segments = ["abc123" if s.startswith((":", "{")) else s for s in prefix.split("/")]
    return "/".join(segments) + "/child"


@pytest.mark.parametrize("prefix", [row[0] for row in published()])
def test_it_puts_every_published_prefix_in_the_same_family_on_both_sides(prefix: str) -> None:
    path = example_path(prefix)
    ours, theirs = family_for(path), ratelimit.family_of(path)
    assert (ours.name, ours.rate, ours.capacity) == (theirs.prefix, theirs.rps, theirs.capacity)
