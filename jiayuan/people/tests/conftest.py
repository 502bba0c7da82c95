"""Fixtures shared by the import wizard's tests."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jiayuan.core.permissions import Role


@pytest.fixture
def staff(make_user, neighbourhood, compound):
    return make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff")


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    """Post a file; the check job starts on commit (run here, as the thread would)."""

    def post(data: bytes, name="roster.xlsx"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/people/import/", {"file": SimpleUploadedFile(name, data)})

    return post
