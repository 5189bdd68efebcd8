"""`format_html` for the hot paths of a page: the cells of a 50-row table call it thousands of times.

Django's `format_html` escapes each argument through `conditional_escape`, whose `escape` is
wrapped by `keep_lazy` (a check of every argument for a lazy string on each call): about a third
of a list page's rendering. This escapes the same way (`html.escape` with quotes, as Django's
`escape` does; anything with `__html__` is trusted as it is) without that wrapper.
"""

import html as stdlib_html

from django.utils.safestring import SafeString


def escape(value: object) -> str:
    """`value` as HTML: markup already marked safe as it is, anything else escaped."""
    if type(value) is int:  # a count: digits only
        return str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return stdlib_html.escape(str(value))


def html(template: str, *args: object) -> SafeString:
    """`template` (trusted markup) with each `{}` filled by an escaped argument, marked safe."""
    return SafeString(template.format(*map(escape, args)))


def join(separator: str, template: str, rows: object) -> SafeString:
    """`template` filled from each tuple of `rows`, joined by `separator` (format_html_join)."""
    return SafeString(separator.join(template.format(*map(escape, args)) for args in rows))
