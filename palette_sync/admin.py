"""The Palette accounts in the admin: the secret is write-only, and a credential is checked with
Palette (`GET /v1/users/info`) before it is stored, so a typo is said at once, not at the next sync."""

from django import forms
from django.contrib import admin

from dashboard.models import PaletteAccount
from palette_sync.sync.accounts import check_account

ACCOUNT_FIELDS = ["name", "api_url", "auth_mode", "username", "org", "ca_pem", "enabled"]


class PaletteAccountForm(forms.ModelForm):
    """The secret is write-only: typed in, sealed on save, never rendered back."""

    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="API key, or the password for username/password accounts. Leave empty to keep the stored one.",
    )

    class Meta:
        model = PaletteAccount
        fields = ACCOUNT_FIELDS

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("secret") and not (self.instance and self.instance.has_secret):
            self.add_error("secret", "An API key or password is required.")
        if self.errors:
            return data
        account = self.instance
        for name in ACCOUNT_FIELDS:
            setattr(account, name, data.get(name, getattr(account, name)))
        if data.get("secret"):
            account.set_secret(data["secret"])
        problem = check_account(account)
        if problem:
            raise forms.ValidationError(f"Palette did not accept this account: {problem}")
        return data

    def save(self, commit: bool = True) -> PaletteAccount:
        account = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            account.set_secret(self.cleaned_data["secret"])
        if commit:
            account.save()
        return account


@admin.register(PaletteAccount)
class PaletteAccountAdmin(admin.ModelAdmin):
    form = PaletteAccountForm
    list_display = ["name", "api_url", "auth_mode", "enabled", "secret_state", "org_name", "tenant_uid"]
    readonly_fields = ["tenant_uid", "org_name", "created_at"]

    @admin.display(description="secret")
    def secret_state(self, account: PaletteAccount) -> str:
        if not account.has_secret:
            return "none"
        return "unreadable: sealed under another key, enter it again" if account.secret_unreadable else "stored"
