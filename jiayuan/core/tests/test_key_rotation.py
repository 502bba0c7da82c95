"""``jiayuan rotate-keys``: after a new key is put first, every stored value the new key cannot
open is re-encrypted under it; the plaintext is unchanged, a second run has nothing to do, and a
value no key opens stops the run without writing."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core import crypto
from jiayuan.core.models import AuditEvent
from jiayuan.people.models import Resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.JIAYUAN_FIELD_KEYS = [old]
    crypto.reset_keys()
    yield settings, old, new
    crypto.reset_keys()


def _raw(resident_id: int) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone FROM people_resident WHERE id = %s", [resident_id])
        return cur.fetchone()


def test_rotation_moves_every_value_to_the_new_key(keys, household, make_resident):
    settings, old, new = keys
    a = make_resident(household, name="甲", id_number=ID_NUMBERS[0], phone="13812345678")
    b = make_resident(household, name="乙", phone="13987654321")
    c = make_resident(household, name="丙")  # nothing to encrypt
    settings.JIAYUAN_FIELD_KEYS = [new, old]
    crypto.reset_keys()
    out = io.StringIO()
    call_command("rotate_keys", "--dry-run", stdout=out)
    assert "people.resident.id_number: 1 to re-encrypt" in out.getvalue()
    assert "people.resident.phone: 2 to re-encrypt" in out.getvalue()
    assert Fernet(old.encode()).decrypt(_raw(a.pk)[1].encode())  # dry run wrote nothing

    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "total: 3 re-encrypted" in out.getvalue()
    only_new = Fernet(new.encode())
    for r in (a, b):
        id_number, phone = _raw(r.pk)
        assert only_new.decrypt(phone.encode())
        if id_number:
            assert only_new.decrypt(id_number.encode()).decode() == ID_NUMBERS[0]
    assert _raw(c.pk) == ("", "")
    # With the old key gone, everything still reads.
    settings.JIAYUAN_FIELD_KEYS = [new]
    crypto.reset_keys()
    assert Resident.objects.get(pk=a.pk).phone == "13812345678"
    assert Resident.objects.get(pk=b.pk).phone == "13987654321"
    event = AuditEvent.objects.get(action="crypto.rotate_keys")
    assert event.changes == {"people.resident.id_number": 1, "people.resident.phone": 2}

    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "total: 0 re-encrypted" in out.getvalue()
    assert AuditEvent.objects.filter(action="crypto.rotate_keys").count() == 1


def test_a_value_no_key_opens_stops_the_run_and_writes_nothing(keys, household, make_resident):
    settings, _old, new = keys
    a = make_resident(household, name="甲", phone="13812345678")
    settings.JIAYUAN_FIELD_KEYS = [new]  # the old key was dropped too early
    crypto.reset_keys()
    before = _raw(a.pk)
    with pytest.raises(CommandError, match="旧密钥"):
        call_command("rotate_keys", stdout=io.StringIO())
    assert _raw(a.pk) == before
