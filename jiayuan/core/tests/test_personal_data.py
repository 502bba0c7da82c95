"""Encryption at rest, keyed hashes, masking, and the append-only audit log."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from jiayuan.conftest import ID_NUMBERS
from jiayuan.core import crypto
from jiayuan.core.audit import audit_record
from jiayuan.core.masking import mask_id_number, mask_name, mask_phone
from jiayuan.core.models import AuditEvent
from jiayuan.people.models import Resident


@pytest.mark.parametrize(
    ("value", "masked"),
    [("31011319800101001X", "3101**********001X"), ("", ""), ("E1234567", "E*******")],
)
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("021-64001234", "021-****1234"), ("64001234", "****1234"), ("", "")],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_mask_name():
    assert mask_name("欧阳娜娜") == "欧***"


@pytest.mark.django_db
def test_id_number_and_phone_are_encrypted_in_the_database(household, make_resident):
    r = make_resident(household, id_number=ID_NUMBERS[0], phone="13812345678")
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone, id_number_hash FROM people_resident WHERE id = %s", [r.pk])
        raw_id, raw_phone, id_hash = cur.fetchone()
    assert ID_NUMBERS[0] not in raw_id and "13812345678" not in raw_phone
    assert raw_id.startswith("gAAAAA")  # a Fernet token
    assert id_hash == crypto.keyed_hash(ID_NUMBERS[0]) and ID_NUMBERS[0] not in id_hash
    assert Resident.objects.get(pk=r.pk).id_number == ID_NUMBERS[0]


@pytest.mark.django_db
def test_key_rotation_keeps_old_values_readable(settings, household, make_resident):
    r = make_resident(household, phone="13812345678")
    old_key = settings.JIAYUAN_FIELD_KEYS[0]
    settings.JIAYUAN_FIELD_KEYS = [Fernet.generate_key().decode(), old_key]
    crypto.reset_keys()
    try:
        assert Resident.objects.get(pk=r.pk).phone == "13812345678"
        with connection.cursor() as cur:
            cur.execute("SELECT phone FROM people_resident WHERE id = %s", [r.pk])
            token = cur.fetchone()[0]
        rotated = crypto.rotate(token)
        settings.JIAYUAN_FIELD_KEYS = settings.JIAYUAN_FIELD_KEYS[:1]
        crypto.reset_keys()
        assert crypto.decrypt(rotated) == "13812345678"
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token)
    finally:
        crypto.reset_keys()


def test_keyed_hash_depends_on_the_key(settings):
    a = crypto.keyed_hash("13812345678")
    settings.JIAYUAN_HASH_KEY = "another-key"
    crypto.reset_keys()
    try:
        assert crypto.keyed_hash("13812345678") != a
        assert crypto.keyed_hash("") == ""
    finally:
        crypto.reset_keys()


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_or_deleted_through_the_orm():
    event = audit_record(actor=None, action="test.thing", object_repr="x")
    event.action = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_in_the_database_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the database trigger exists on PostgreSQL only; SQLite relies on the ORM guard")
    from django.db import DatabaseError, transaction

    event = audit_record(actor=None, action="test.thing")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])


@pytest.mark.django_db
def test_audit_page_is_for_the_committee_head_only(client, head, make_user, building, neighbourhood):
    from jiayuan.core.permissions import Role

    audit_record(actor=head, action="resident.reveal", object_repr="#1 张*", neighbourhood_id=neighbourhood.pk)
    audit_record(actor=None, action="resident.reveal", object_repr="elsewhere", neighbourhood_id=neighbourhood.pk + 1)
    client.force_login(head)
    page = client.get("/audit/")
    assert page.status_code == 200
    assert "resident.reveal" in page.content.decode()
    assert "elsewhere" not in page.content.decode()
    client.force_login(make_user(Role.COMMITTEE_STAFF, neighbourhood))
    assert client.get("/audit/").status_code == 404
