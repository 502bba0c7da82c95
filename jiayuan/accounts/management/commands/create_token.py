"""``jiayuan create-token USERNAME``: print a new API token on the last line."""

from django.core.management.base import BaseCommand, CommandError

from jiayuan.accounts.models import User
from jiayuan.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'scanner 3'")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"没有这个有效用户: {username} (no active user {username!r})", returncode=2)
        _token, key = api_token_create(actor=f"cli:{username}", user=user, name=name)
        self.stdout.write(f"API token for {username} (shown once, keep it safe):")
        self.stdout.write(key)
