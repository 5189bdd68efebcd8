"""The form operators create and edit a display with: its settings and up to SLOTS screens in order."""

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from wall.models import Display
from wall.screens import screen_choices

SLOTS = 8


class DisplayForm(forms.ModelForm):
    """Name, rotation and theme, and the screens as numbered choices (order without any script)."""

    class Meta:
        model = Display
        fields = ["name", "seconds_per_screen", "theme", "pause_on_problem"]
        labels = {"seconds_per_screen": "Seconds per screen", "pause_on_problem": "Pause on a screen with a problem"}

    def __init__(self, *args: object, user: AbstractBaseUser, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = screen_choices(user)
        self.known = {key for key, _ in choices}
        current = list(self.instance.screens or []) if self.instance.pk else ["overview", "unhealthy"]
        for n in range(SLOTS):
            key = current[n] if n < len(current) else ""
            options = list(choices)
            if key and key not in self.known:  # a saved view since deleted or unshared: keep it visible
                options.append((key, "(a saved view you can no longer use)"))
            self.fields[f"screen_{n + 1}"] = forms.ChoiceField(
                label=f"Screen {n + 1}", choices=[("", "—"), *options], required=False, initial=key
            )

    def settings_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self._meta.fields]

    def screen_fields(self) -> list[forms.BoundField]:
        return [self[f"screen_{n + 1}"] for n in range(SLOTS)]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name or "\x00" in name:
            raise forms.ValidationError("A display needs a name.")
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        screens: list[str] = []
        for n in range(SLOTS):
            key = cleaned.get(f"screen_{n + 1}") or ""
            if key and key not in screens:  # the field's choices already refused anything unknown
                screens.append(key)
        if not screens:
            raise forms.ValidationError("Choose at least one screen.")
        self.instance.screens = screens
        return cleaned
