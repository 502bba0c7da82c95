"""Every demo role follows every link it is shown: no 404, no 500, no bounce to sign-in.

The demo neighbourhood is loaded once for the module. Each demo login signs in with the test
client and crawls what it is shown: every link of its home page (the header menu and the
"今天要做的事" rows included), every link of the pages those lead to, and the links of the
sub-menus (any ``<nav>``: the supplies sub-menu, a round's tabs) of those pages one level deeper
still. Links are read from the pages themselves, so a link added later is crawled too.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

import pytest
from django.db import transaction
from django.test import Client, override_settings

from jiayuan.core.extensions import demo_loaders
from jiayuan.people.demo import DEMO_CODE, DEMO_PASSWORD, demo_load
from jiayuan.places.models import Neighbourhood

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROLES = ["head", "staff", "owners", "property", "guard", "leader", "volunteer", "sampler", "street"]

# Not the app's pages: static files, the Django admin, the API (documents and JSON) and sign-out
# (a POST form, never a link).
SKIP = re.compile(r"^/(static|media|admin|api|accounts/logout)/")
# Links of one shape (the same path with other ids or query values: 50 residents of a list,
# pages 2…n of a pager) are followed a few times, not every time.
PER_SHAPE = 3


class _Links(HTMLParser):
    """``<a href>`` of a page, each with whether it sits inside a ``<nav>`` (a menu)."""

    def __init__(self):
        super().__init__()
        self.nav_depth = 0
        self.links: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "nav":
            self.nav_depth += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append((href, self.nav_depth > 0))

    def handle_endtag(self, tag):
        if tag == "nav" and self.nav_depth:
            self.nav_depth -= 1


def links_in(html: str, base: str) -> list[tuple[str, bool]]:
    """Same-site links of a page as (path?query, in a menu)."""
    parser = _Links()
    parser.feed(html)
    found = []
    for href, in_nav in parser.links:
        url = urldefrag(urljoin(f"http://testserver{base}", href)).url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
            continue  # tel:, mailto:, other sites
        if SKIP.match(parts.path):
            continue
        found.append((parts.path + (f"?{parts.query}" if parts.query else ""), in_nav))
    return found


def shape(path: str) -> str:
    parts = urlsplit(path)
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)} - {"page"})
    return re.sub(r"\d+", "#", parts.path) + "?" + "&".join(keys)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo neighbourhood (what ``jiayuan demo`` loads), once for the module, rolled back after."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        out = StringIO()
        demo_load(stdout=out)
        nb = Neighbourhood.objects.get(code=DEMO_CODE)
        for loader in demo_loaders():
            loader(neighbourhood=nb, stdout=out)
        yield nb
        transaction.set_rollback(True)


class Crawl:
    """One signed-in demo login following the links it is shown."""

    def __init__(self, username: str):
        self.username = username
        self.client = Client()
        assert self.client.login(username=username, password=DEMO_PASSWORD)
        self.status: dict[str, int] = {}
        self.failures: list[str] = []
        self.shapes: Counter[str] = Counter()

    def visit(self, path: str, came_from: str, hops: int = 0) -> tuple[str, str] | None:
        """GET ``path``; record a failure; the HTML of a page and where it ended up (after same-site
        redirects: relative links are read from there)."""
        if path in self.status:
            return None
        response = self.client.get(path)
        self.status[path] = response.status_code
        if response.status_code == 404 or response.status_code >= 500:
            self.failures.append(f"{self.username}: {path} → {response.status_code} (linked from {came_from})")
            return None
        if response.status_code in (301, 302, 303, 307, 308):
            target = urlsplit(response.headers["Location"])
            if target.path.startswith("/accounts/login"):
                self.failures.append(f"{self.username}: {path} → sign-in page (linked from {came_from})")
                return None
            if hops < 5 and target.netloc in ("", "testserver"):
                return self.visit(target.path + (f"?{target.query}" if target.query else ""), path, hops + 1)
            return None
        if "text/html" not in response.headers.get("Content-Type", ""):
            return None  # a download (xlsx, a photo): opening it is all a link promises
        return response.content.decode(), path

    def follow(self, links: list[tuple[str, bool]], came_from: str) -> list[tuple[str, str, str]]:
        pages = []
        for path, _in_nav in links:
            if path in self.status:
                continue
            key = shape(path)
            if self.shapes[key] >= PER_SHAPE:
                continue
            self.shapes[key] += 1
            page = self.visit(path, came_from)
            if page is not None:
                html, landed = page
                pages.append((landed, html, came_from))
        return pages

    def run(self) -> None:
        home = self.visit("/", "sign-in")
        assert home is not None, self.failures
        level1 = self.follow(links_in(home[0], home[1]), "/")
        level2 = []
        for path, html, _from in level1:
            level2 += self.follow(links_in(html, path), path)
        for path, html, _from in level2:
            self.follow([link for link in links_in(html, path) if link[1]], path)  # sub-menus only


@pytest.fixture(scope="module")
def crawled() -> dict[str, Crawl]:
    """Finished crawls by login, so a later test can look at what an earlier one visited."""
    return {}


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("username", ROLES)
def test_every_link_a_role_is_shown_opens(username, crawled):
    crawl = crawled[username] = Crawl(username)
    crawl.run()
    assert not crawl.failures, "\n".join(crawl.failures)
    assert len(crawl.status) > 3  # the crawl did reach the role's pages


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
def test_the_crawl_reaches_sub_menus_and_would_catch_a_dead_link(crawled):
    """The crawl goes as deep as the sub-menus (a round's tabs) and reports a link that 404s."""
    crawl = crawled.get("head")
    if crawl is None:  # run on its own
        crawl = Crawl("head")
        crawl.run()
    visited = set(crawl.status)
    assert any(re.fullmatch(r"/screening/\d+/missed/", p) for p in visited)
    assert "/supplies/checklist/" in visited
    assert "/screening/cards/" in visited
    dead = Crawl("guard")
    dead.follow([("/supplies/checklist/", True)], "/supplies/")
    assert dead.failures == ["guard: /supplies/checklist/ → 404 (linked from /supplies/)"]


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("username", "page", "hidden"),
    [
        ("guard", "/supplies/", "/supplies/checklist/"),
        ("owners", "/supplies/", "/supplies/checklist/"),
        ("volunteer", "/screening/", "/screening/cards/"),
        ("sampler", "/screening/", "/screening/cards/"),
    ],
)
def test_links_the_role_cannot_open_are_not_shown(username, page, hidden):
    """The two dead links users met: the guard's 送货清单 and the volunteer's and sampler's 打印核酸码卡片."""
    client = Client()
    client.login(username=username, password=DEMO_PASSWORD)
    html = client.get(page).content.decode()
    assert hidden not in [p for p, _nav in links_in(html, page)]


def test_user_can_in_templates(make_user, neighbourhood, building):
    """``user_can.<action>`` answers ``can()``; a misspelt action is false, never true."""
    from django.template import Context, Template

    from jiayuan.core.context_processors import UserCan

    volunteer = make_user("volunteer", building)
    template = Template(
        "{% if user_can.deliver_goods %}送{% endif %}{% if user_can.manage_rounds %}管{% endif %}"
        "{% if user_can.deliver_goodz %}错{% endif %}"
    )
    assert template.render(Context({"user_can": UserCan(volunteer)})) == "送"
