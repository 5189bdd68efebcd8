"""Filter widgets drawn in Python.

Django draws a choice widget through a template per option: the 200-project `<select>` and the
checkbox groups cost a list page about a third of its time. These draw the same controls in one
pass over the choices (`dashboard.markup`); markup and escaping are as Django's.
"""

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe

from dashboard import markup

CHECKED = mark_safe(" checked")  # noqa: S308 (a constant)
SELECTED = mark_safe(" selected")  # noqa: S308 (a constant)
NOTHING = mark_safe("")  # noqa: S308 (a constant)


def chosen_values(widget: forms.Widget, value: object) -> set[str]:
    return {str(v) for v in widget.format_value(value)}


class SelectMultiple(forms.SelectMultiple):
    """A `<select multiple>` of flat choices."""

    def render(self, name: str, value: object, attrs: dict | None = None, renderer: object = None) -> SafeString:
        chosen = chosen_values(self, value)
        options = markup.join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, SELECTED if str(key) in chosen else NOTHING, label) for key, label in self.choices),
        )
        final = self.build_attrs(self.attrs, attrs)
        return markup.html('<select name="{}"{} multiple>{}</select>', name, flatatt(final), options)


class CheckboxSelectMultiple(forms.CheckboxSelectMultiple):
    """Checkboxes, one `<label class="check">` each, ids as Django numbers them (`id_<name>_<n>`)."""

    def render(self, name: str, value: object, attrs: dict | None = None, renderer: object = None) -> SafeString:
        chosen = chosen_values(self, value)
        base = self.build_attrs(self.attrs, attrs).get("id", f"id_{name}")
        return markup.join(
            "",
            '<label class="check"><input type="checkbox" name="{}" value="{}" id="{}_{}"{}> {}</label>',
            (
                (name, key, base, index, CHECKED if str(key) in chosen else NOTHING, label)
                for index, (key, label) in enumerate(self.choices)
            ),
        )
