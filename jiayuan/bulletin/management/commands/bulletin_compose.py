"""``jiayuan bulletin_compose [--date YYYY-MM-DD]``: compose every neighbourhood's draft for the day
(the laptop runs it from cron at the set time; shared deployments run ``bulletin.compose_all``)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from jiayuan.bulletin.services import compose_all


class Command(BaseCommand):
    help = "Compose every neighbourhood's daily bulletin draft (today unless --date)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD")

    def handle(self, *args, **options):
        try:
            day = dt.date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD") from exc
        n = compose_all(actor="cli:bulletin_compose", date=day)
        self.stdout.write(f"composed {n} bulletin drafts")
