"""``jiayuan demo``: load the demo neighbourhood and print its logins."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiayuan.core.extensions import demo_loaders
from jiayuan.people.demo import DEMO_CODE, DemoRefusedError, demo_load
from jiayuan.places.models import Neighbourhood


class Command(BaseCommand):
    help = (
        "装入演示居民区(约3600名虚构居民)和每个角色一个演示账号;可重复运行。"
        " Load the demo neighbourhood (~3,600 made-up residents) and one demo login per role; safe to re-run."
    )

    def handle(self, *args, **options) -> None:
        try:
            demo_load(stdout=self.stdout)
        except DemoRefusedError as exc:
            raise CommandError(str(exc)) from exc
        # Screening, control and supplies add their demo data (each loader is idempotent).
        neighbourhood = Neighbourhood.objects.get(code=DEMO_CODE)
        for loader in demo_loaders():
            loader(neighbourhood=neighbourhood, stdout=self.stdout)
