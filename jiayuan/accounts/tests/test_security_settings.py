"""The Content-Security-Policy the pages satisfy, the HTTPS settings from the environment with a
clean ``check --deploy``, and ``jiayuan demo`` refusing production."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from jiayuan.accounts.models import User
from jiayuan.core.permissions import Role
from jiayuan.people.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from jiayuan.places.models import Neighbourhood

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = sorted(p for p in (ROOT / "jiayuan").rglob("*.html") if "locale" not in p.parts)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)

# What the operator guide ("HTTPS and sign-in security") gives a production install.
PRODUCTION_ENV = {
    "JIAYUAN_HTTPS": "1",
    "JIAYUAN_BEHIND_PROXY": "1",
    "JIAYUAN_ALLOWED_HOSTS": "jiayuan.example.org",
    "JIAYUAN_CSRF_TRUSTED_ORIGINS": "https://jiayuan.example.org",
}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_event_handlers_or_inline_scripts(template):
    text = template.read_text(encoding="utf-8")
    assert not INLINE_HANDLER.search(text), "use data-confirm / data-print / data-autosubmit (behaviour.js)"
    for tag in SCRIPT_TAG.findall(text):
        assert " src=" in tag or "csp_nonce" in tag, f"inline <script> without the nonce: {tag}"
    assert "javascript:" not in text


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.fixture
def head_client(head, household, make_resident):
    make_resident(household, name="王五", id_number="310113198001010013", phone="13812345678")
    client = Client()
    client.force_login(head)
    return client


@pytest.mark.parametrize("url", ["/", "/people/", "/places/", "/team/", "/accounts/", "/audit/", "/accounts/login/"])
def test_every_page_sends_the_policy_and_its_scripts_satisfy_it(head_client, url):
    response = head_client.get(url, follow=True)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"].startswith("script-src 'self'")
    assert "unsafe-inline" not in policy["script-src"]
    assert "unsafe-eval" not in policy["script-src"]
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"])
    for tag in SCRIPT_TAG.findall(response.content.decode()):
        assert " src=" in tag or (nonce and f'nonce="{nonce.group(1)}"' in tag), tag


def test_the_api_answers_carry_the_policy_too(head_client):
    assert "default-src 'self'" in head_client.get("/api/v1/openapi.json")["Content-Security-Policy"]


def _run(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIAYUAN_", "DATABASE_", "REDIS_", "DJANGO_"))}
    clean.update({"JIAYUAN_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "jiayuan.settings", **env})
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "django", *args], env=clean, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_https_check_deploy_names_what_is_missing(tmp_path):
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], {}, tmp_path)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


def test_https_settings_come_from_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = _run(["shell", "-v", "0", "-c", code], {**PRODUCTION_ENV, "JIAYUAN_HSTS_SECONDS": "3600"}, tmp_path)
    assert result.stdout.split() == ["True", "True", "True", "3600", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    plain = _run(["shell", "-v", "0", "-c", code.replace(", s.SECURE_PROXY_SSL_HEADER", "")], {}, tmp_path)
    assert plain.stdout.split() == ["False", "False", "False", "0", "False"]


def test_https_redirects_plain_http(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


# --- jiayuan demo and DEBUG ------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as excinfo:
        call_command("demo", stdout=StringIO())
    assert "DEBUG" in str(excinfo.value)
    assert "--without-debug" in str(excinfo.value)
    assert not Neighbourhood.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_told_explicitly_makes_demo_logins_change_their_password(settings, client):
    settings.DEBUG = False
    out = StringIO()
    call_command("demo", "--without-debug", stdout=out)
    assert "须修改密码" in out.getvalue()
    assert set(User.objects.filter(must_change_password=True).values_list("username", flat=True)) == {
        a.username for a in DEMO_ACCOUNTS
    }
    client.post("/accounts/login/", {"username": "head", "password": DEMO_PASSWORD})
    assert client.get("/")["Location"] == "/accounts/password/"


@pytest.mark.django_db
def test_demo_with_debug_on_keeps_the_readme_logins(settings, client):
    settings.DEBUG = True
    call_command("demo", stdout=StringIO())
    assert not User.objects.filter(must_change_password=True).exists()
    settings.JIAYUAN_2FA_REQUIRED = True  # the demo head is offered 2FA, not made to
    client.post("/accounts/login/", {"username": "head", "password": DEMO_PASSWORD})
    assert client.get("/").status_code == 200
    assert User.objects.get(username="head").assignments.filter(role=Role.COMMITTEE_HEAD).exists()
