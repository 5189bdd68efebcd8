"""The Edge Host API server (being written): for now it reports that it is off."""

from types import SimpleNamespace


def start_edge(app: object, args: object) -> SimpleNamespace | None:
    return None
