"""Add, update, list or remove the Palette accounts the dashboard syncs.

The secret (API key or password) is read from a prompt, stdin or an environment variable, never
from the command line (shell history, `ps`), and is stored Fernet-sealed.
"""

import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.models import PaletteAccount
from palette_sync import sync


class Command(BaseCommand):
    help = "Manage Palette accounts: add (or update), list, remove."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add an account, or update one with the same name")
        add.add_argument("name")
        add.add_argument("--url", required=True, help="API URL, e.g. https://api.spectrocloud.com")
        add.add_argument("--username", default="", help="log in with username/password instead of an API key")
        add.add_argument("--org", default="", help="organisation (tenant) name, for username/password")
        source = add.add_mutually_exclusive_group()
        source.add_argument("--secret-env", metavar="VAR", help="read the API key or password from $VAR")
        source.add_argument("--secret-stdin", action="store_true", help="read the API key or password from stdin")
        add.add_argument("--disabled", action="store_true", help="keep it, but do not sync it on schedule")
        add.add_argument("--ca-file", help="PEM of the CA that signed a self-hosted Palette's certificate")
        add.add_argument(
            "--no-check", action="store_true", help="store it without asking Palette whether the credential works"
        )
        actions.add_parser("list", help="list accounts (secrets are never shown)")
        remove = actions.add_parser("remove", help="remove an account and everything synced from it")
        remove.add_argument("name")

    def handle(self, *args: object, action: str, **options: object) -> None:
        getattr(self, f"handle_{action}")(**options)

    def handle_add(self, name: str, url: str, username: str, org: str, **options: object) -> None:
        secret = self.read_secret(options.get("secret_env"), bool(options.get("secret_stdin")))
        if not secret:
            raise CommandError("an API key or password is required")
        account = PaletteAccount.objects.filter(name=name).first() or PaletteAccount(name=name)
        created = account.pk is None
        account.api_url = url
        account.auth_mode = PaletteAccount.AuthMode.PASSWORD if username else PaletteAccount.AuthMode.API_KEY
        account.username, account.org = username, org
        account.enabled = not options.get("disabled")
        account.set_secret(secret)
        if options.get("ca_file"):
            account.ca_pem = read_pem(options["ca_file"])
        try:
            account.full_clean(exclude=["secret_sealed"])
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(f"{name}: not saved: {problems}") from None
        if not options.get("no_check"):
            problem = sync.check_account(account)
            if problem:
                raise CommandError(f"{name}: not saved: {problem} (--no-check stores it anyway)")
        account.save()
        self.stdout.write(f"{'added' if created else 'updated'} {account.name} ({account.get_auth_mode_display()})")

    def handle_list(self, **options: object) -> None:
        for account in PaletteAccount.objects.order_by("name"):
            who = f" as {account.username}" if account.auth_mode == PaletteAccount.AuthMode.PASSWORD else ""
            state = "enabled" if account.enabled else "disabled"
            secret = (
                "NO SECRET"
                if not account.has_secret
                else "SECRET UNREADABLE"
                if account.secret_unreadable
                else ("secret stored")
            )
            self.stdout.write(
                f"{account.name}\t{account.api_url}\t{account.get_auth_mode_display()}{who}\t{state}\t{secret}"
            )

    def handle_remove(self, name: str, **options: object) -> None:
        deleted, _ = PaletteAccount.objects.filter(name=name).delete()
        if not deleted:
            raise CommandError(f"no account named {name!r}")
        self.stdout.write(f"removed {name}")

    def read_secret(self, env: str | None, stdin: bool) -> str:
        if env:
            return os.environ.get(env, "").strip()
        if stdin:
            return sys.stdin.readline().strip()
        return getpass.getpass("API key or password: ").strip()


def read_pem(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:  # noqa: PTH123
            pem = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the CA file {path}: {exc}") from exc
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise CommandError(f"{path} holds no PEM certificate")
    return pem
