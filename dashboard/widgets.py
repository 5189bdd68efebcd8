"""Filter widgets drawn in Python.

Django draws a choice widget through a template per option: the 200-project `<select>` and the
checkbox groups cost a list page about a third of its time. These draw the same controls in one
pass over the choices (`dashboard.markup`); markup and escaping are as Django's.
"""

from django import forms
from django.forms.renderers import DjangoTemplates
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
        final = self.build_attrs(self.attrs, attrs)
        base = final.pop("id", f"id_{name}")
        extra = flatatt(final)  # e.g. aria-invalid on a field with errors, on every box as Django puts it
        return markup.join(
            "",
            '<label class="check"><input type="checkbox" name="{}" value="{}" id="{}_{}"{}{}> {}</label>',
            (
                (name, key, base, index, extra, CHECKED if str(key) in chosen else NOTHING, label)
                for index, (key, label) in enumerate(self.choices)
            ),
        )


# -- Django's own input and select widgets, drawn in Python --------------------------------------


def attributes(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare name for True, nothing for False."""
    return "".join(
        f" {markup.escape(name)}" if value is True else f' {markup.escape(name)}="{markup.escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def draw_input(widget: dict) -> str:
    """django/forms/widgets/input.html (text, search, number, date, checkbox and the rest)."""
    kind, name = markup.escape(widget["type"]), markup.escape(widget["name"])
    value = "" if widget["value"] is None else f' value="{markup.escape(widget["value"])}"'
    return f'<input type="{kind}" name="{name}"{value}{attributes(widget["attrs"])}>'


def draw_select(widget: dict) -> str:
    """django/forms/widgets/select.html with select_option.html."""
    parts = [f'<select name="{markup.escape(widget["name"])}"{attributes(widget["attrs"])}>']
    for group, options, _ in widget["optgroups"]:
        if group:
            parts.append(f'<optgroup label="{markup.escape(group)}">')
        parts.extend(
            f'<option value="{markup.escape(o["value"])}"{attributes(o["attrs"])}>{markup.escape(o["label"])}</option>'
            for o in options
        )
        if group:
            parts.append("</optgroup>")
    parts.append("</select>")
    return "\n".join(parts)


INPUTS = ("text", "search", "number", "email", "url", "tel", "password", "hidden", "date", "datetime", "time")
DRAWN = {f"django/forms/widgets/{kind}.html": draw_input for kind in (*INPUTS, "checkbox", "color", "input")}
DRAWN["django/forms/widgets/select.html"] = draw_select


class Renderer(DjangoTemplates):
    """A form renderer that draws Django's input and select widgets in Python (the markup of their
    templates) and renders any other template as Django does: a filter form has a dozen fields,
    each a template render otherwise."""

    def render(self, template_name: str, context: dict, request: object = None) -> SafeString:
        draw = DRAWN.get(template_name)
        if draw is None or "widget" not in context:
            return super().render(template_name, context, request)
        return SafeString(draw(context["widget"]))


RENDERER = Renderer()
