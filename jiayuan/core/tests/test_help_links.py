"""The "帮助" link of every page opens an existing page and heading of the user guide."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from django.urls import get_resolver, reverse

from jiayuan.core import help as guide

PACKAGE = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"{%\s*block help\s*%}(.*?){%\s*endblock")


def _target_exists(lang: str, target: str) -> bool:
    page, _sep, anchor = target.partition("#")
    rendered = guide.render_page(lang, page)
    return rendered is not None and (not anchor or anchor in rendered[2])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_section_key_names_a_page_and_heading_in_both_guides(lang):
    missing = {key: t[lang] for key, t in guide.SECTIONS.items() if not _target_exists(lang, t[lang])}
    assert not missing, f"no such page or heading in docs/user-guide/{lang}: {missing}"


def test_every_template_help_block_and_default_names_a_known_section():
    blocks = {
        (str(path.relative_to(PACKAGE)), key.strip())
        for path in PACKAGE.rglob("*.html")
        for key in BLOCK.findall(path.read_text(encoding="utf-8"))
    }
    blocks = {(path, key) for path, key in blocks if "{%" not in key}  # base.html's default
    assert blocks, "templates choose their section with {% block help %}"
    assert not [b for b in blocks if b[1] not in guide.SECTIONS]
    assert not [k for k in guide.DEFAULT_KEYS.values() if k not in guide.SECTIONS]


def test_every_default_names_a_real_url():
    resolver = get_resolver()
    names = {n for n in resolver.reverse_dict if isinstance(n, str)}
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        names |= {namespace} | {f"{namespace}:{n}" for n in sub.reverse_dict if isinstance(n, str)}
    assert not [k for k in guide.DEFAULT_KEYS if k not in names]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_links_between_guide_pages_resolve(lang):
    broken = []
    for path in sorted((guide.guide_dir() / lang).glob("*.md")):
        _title, html, _ids = guide.render_page(lang, path.stem)
        for href in re.findall(r'href="([^"]+)"', html):
            if "://" in href or href.startswith("mailto:"):
                continue
            url = urlsplit(urljoin(f"/help/{lang}/{path.stem}/", unquote(href)))
            match = re.fullmatch(r"/help/(zh|en)/([\w-]+)/", url.path)
            target = f"{match.group(2)}#{url.fragment}" if match and url.fragment else match and match.group(2)
            if not match or not _target_exists(match.group(1), target):
                broken.append((path.name, href))
    assert not broken


def _follow_help(client, url: str) -> None:
    """Open ``url``, follow its 帮助 link to the guide and check the heading it points at."""
    html = client.get(url).content.decode()
    match = re.search(r'<a class="help-link" href="([^"]+)"', html)
    assert match, f"{url} has no help link"
    response = client.get(match.group(1).replace("&amp;", "&"))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    page = client.get(target.path)
    assert page.status_code == 200
    if target.fragment:
        assert f'id="{unquote(target.fragment)}"' in page.content.decode(), (url, target)


@pytest.mark.parametrize(
    ("url_name", "section"),
    [
        ("core:home", "home"),
        ("core:audit", "audit"),
        ("people:list", "resident-search"),
        ("people:import", "import"),
        ("places:compounds", "roster"),
        ("screening:rounds", "screening"),
        ("control:index", "control"),
    ],
)
def test_pages_link_to_their_section(client, head, url_name, section):
    client.force_login(head)
    html = client.get(reverse(url_name)).content.decode()
    assert f'href="/help/?s={section}"' in html
    _follow_help(client, reverse(url_name))


def test_help_follows_the_language(client, head):
    client.force_login(head)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(reverse("core:help") + "?s=sampling")
    assert response["Location"] == "/help/en/screening/#4-sampling-samplers-one-handed-on-a-phone"


def test_guide_pages_are_open_and_safe(client):
    assert client.get(reverse("core:help_page", args=["zh", "README"])).status_code == 200
    assert client.get(reverse("core:help") + "?s=no-such-key")["Location"] == "/help/zh/README/"
    for lang, page in [("zh", "nope"), ("fr", "README"), ("zh", "..")]:
        assert client.get(f"/help/{lang}/{page}/").status_code == 404
    assert client.get("/help/zh/%2E%2E%2F%2E%2E%2FREADME/").status_code == 404
