import functools

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Fleet dashboard"

    def ready(self) -> None:
        remember_cell_signatures()


def remember_cell_signatures() -> None:
    """django-tables2 inspects the signature of a column's render method for every cell it draws
    (`utils.signature`, about 10 ms of a 50-row page). A method's signature does not change while
    the process lives, so it is looked up once per function."""
    from django_tables2 import utils

    if getattr(utils.signature, "remembered", False):
        return
    inspect_signature = utils.signature

    @functools.lru_cache(maxsize=2048)
    def of_function(function: object, bound: bool) -> tuple:
        return inspect_signature(function.__get__(object()) if bound else function)

    def signature(fn: object) -> tuple:
        function = getattr(fn, "__func__", None)
        if function is not None:  # a bound method: same signature whatever it is bound to
            return of_function(function, True)
        try:
            return of_function(fn, False)
        except TypeError:  # not hashable: inspect it as tables2 would
            return inspect_signature(fn)

    signature.remembered = True
    utils.signature = signature
