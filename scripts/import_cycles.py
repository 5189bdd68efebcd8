"""Fail when modules of the project import each other in a circle, across packages too.

`lint-imports` (.importlinter) keeps each package's own modules and subpackages acyclic; a circle
that leaves one top-level package and comes back (dashboard -> palette_sync -> dashboard) is
between packages it checks one at a time, so this looks at the whole graph. Every import counts,
inside functions and under `if TYPE_CHECKING:` too.

Usage: .venv/bin/python scripts/import_cycles.py   (run by `make test`)
"""

import configparser
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected sets of two or more modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[module] = min(low[module], index[child])
    return found


def main() -> int:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*config["importlinter"]["root_packages"].split(), cache_dir=None)
    found = circles(graph)
    for group in found:
        print("import circle:", " <-> ".join(group))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
