"""The Palette accounts in the admin: the secret is write-only, and a credential is checked with
Palette (`GET /v1/users/info`) before it is stored, so a typo is said at once, not at the next sync."""

from django import forms
from django.contrib import admin

from dashboard.models import PaletteAccount
from dashboard.sealing import SecretState
from palette_sync.sync.accounts import check_account

ACCOUNT_FIELDS = ["name", "api_url", "auth_mode", "username", "org", "ca_pem", "enabled"]


class PaletteAccountForm(forms.ModelForm):
    """The secret is write-only: typed in, sealed on save, never rendered back."""

    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="API key, or the password for username/password accounts. Leave empty to keep the stored one, "
        "unless you change the API URL, sign-in mode or CA: then enter it again.",
    )

    class Meta:
        model = PaletteAccount
        fields = ACCOUNT_FIELDS

    def clean(self) -> dict:
        data = super().clean()
        sealed = PaletteAccount._meta.get_field("secret_sealed")
        changes = {name: data[name] for name in PaletteAccount.SECRET_TARGET if name in data}
        if not data.get("secret"):
            if self.instance.pk and sealed.retargeted(self.instance, changes):
                self.add_error("secret", "Enter the API key or password again: the URL, sign-in mode or CA changed.")
            elif not self.instance.has_secret:
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
        return {
            SecretState.NONE: "none: enter it",
            SecretState.STORED: "stored",
            SecretState.UNREADABLE: "unreadable: sealed under another key, enter it again",
            SecretState.STALE: "cleared: the URL, sign-in mode or CA changed, enter it again",
        }[account.secret_state]
