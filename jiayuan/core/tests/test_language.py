"""Chinese first; English one click away."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_default_is_simplified_chinese(client):
    body = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "登录家园" in body
    assert 'lang="zh-hans"' in body


@pytest.mark.django_db
def test_switching_to_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    body = client.get("/accounts/login/").content.decode()
    assert "Log in to Jiayuan" in body
    assert "登录家园" not in body
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "登录家园" in client.get("/accounts/login/").content.decode()
