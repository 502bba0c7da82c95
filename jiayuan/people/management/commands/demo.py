"""``jiayuan demo``: load the demo neighbourhood and print its logins."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiayuan.core.extensions import demo_loaders
from jiayuan.people.demo import DEMO_ACCOUNTS, DEMO_CODE, DemoRefusedError, demo_load
from jiayuan.places.models import Neighbourhood

MSG_NO_DEBUG = (
    "DEBUG 未开启(未设 JIAYUAN_DEBUG=1), 这像是正式环境: 演示账号的密码是公开的, 不装入。"
    " 仅用于演示时请用 JIAYUAN_DEBUG=1 jiayuan demo; 确要在此装入, 请加 --without-debug"
    " (演示账号首次登录须改密码)。Nothing was written.\n"
    "DEBUG is off (JIAYUAN_DEBUG is not 1), which looks like production: the demo logins' password is public,"
    " so the demo is not loaded. For a demo, run JIAYUAN_DEBUG=1 jiayuan demo; to load it here anyway,"
    " add --without-debug (the demo logins must then change their password at first sign-in)."
)


class Command(BaseCommand):
    help = (
        "装入演示居民区(约3600名虚构居民)和每个角色一个演示账号;可重复运行。"
        " Load the demo neighbourhood (~3,600 made-up residents) and one demo login per role; safe to re-run."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--without-debug",
            action="store_true",
            help=(
                "DEBUG 关闭时也装入; 演示账号首次登录须改密码。"
                " Load even with DEBUG off; the demo logins must change their password at first sign-in."
            ),
        )

    def handle(self, *args, **options) -> None:
        # The demo password is printed here and in the README: it must not become the way into a
        # production database by accident.
        if not settings.DEBUG and not options["without_debug"]:
            raise CommandError(MSG_NO_DEBUG)
        try:
            demo_load(stdout=self.stdout)
        except DemoRefusedError as exc:
            raise CommandError(str(exc)) from exc
        # Screening, control and supplies add their demo data (each loader is idempotent).
        neighbourhood = Neighbourhood.objects.get(code=DEMO_CODE)
        for loader in demo_loaders():
            loader(neighbourhood=neighbourhood, stdout=self.stdout)
        if not settings.DEBUG:
            from jiayuan.accounts.models import User

            User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).update(must_change_password=True)
            self.stdout.write(
                "DEBUG 关闭: 演示账号首次登录须修改密码。DEBUG is off: the demo logins must change their password"
                " at first sign-in.\n"
            )
