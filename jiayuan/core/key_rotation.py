"""Re-encrypting stored personal data under the current key (``jiayuan rotate-keys``).

After a new Fernet key is put first in ``JIAYUAN_FIELD_KEYS`` (ADR 0002), new writes use it and
old values still decrypt with the keys after it. This walks every ``EncryptedTextField`` of every
model and re-encrypts each value the first key cannot open, in batches of its own transactions,
so the run can be stopped and started again and only the old keys' values are touched. When it
reports nothing left, the old keys can be removed from the setting. The keyed hashes beside the
values use ``JIAYUAN_HASH_KEY`` and are not affected.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from jiayuan.core import crypto
from jiayuan.core.audit import audit_record
from jiayuan.core.fields import EncryptedTextField

__all__ = ["encrypted_fields", "rotate_stored_values"]

BATCH = 1000


def encrypted_fields() -> list[tuple[type, list[EncryptedTextField]]]:
    """Every concrete model with encrypted fields, and those fields."""
    out = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            out.append((model, fields))
    return out


def _primary() -> Fernet:
    key = settings.JIAYUAN_FIELD_KEYS[0]
    return Fernet(key.encode() if isinstance(key, str) else key)


def _under_primary(primary: Fernet, token: str) -> bool:
    try:
        primary.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate_stored_values(*, actor, dry_run: bool = False, batch: int = BATCH) -> dict[str, int]:
    """``{"app.model.field": values re-encrypted}`` (to re-encrypt, when ``dry_run``); audited.

    A value no configured key opens raises ``crypto.DecryptionError``: nothing of that batch is
    written, and the operator must put the missing key back before running again."""
    crypto.reset_keys()
    primary = _primary()
    qn = connection.ops.quote_name
    counts: dict[str, int] = {}
    for model, fields in encrypted_fields():
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        columns = [qn(f.column) for f in fields]
        names = [f"{model._meta.label_lower}.{f.name}" for f in fields]
        for name in names:
            counts[name] = 0
        last = None
        while True:
            where = f"WHERE {pk} > %s " if last is not None else ""
            sql = f"SELECT {pk}, {', '.join(columns)} FROM {table} {where}ORDER BY {pk} LIMIT %s"  # noqa: S608
            with connection.cursor() as cur:
                cur.execute(sql, ([last] if last is not None else []) + [batch])
                rows = cur.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            updates = []
            for row in rows:
                changed = {}
                for i, token in enumerate(row[1:]):
                    if token and not _under_primary(primary, token):
                        crypto.decrypt(token)  # raises DecryptionError when no key opens it
                        changed[i] = crypto.rotate(token)
                        counts[names[i]] += 1
                if changed:
                    updates.append((row[0], changed))
            if updates and not dry_run:
                with transaction.atomic(), connection.cursor() as cur:
                    for pk_value, changed in updates:
                        sets = ", ".join(f"{columns[i]} = %s" for i in changed)
                        cur.execute(
                            f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # noqa: S608 - names from the model
                            [*changed.values(), pk_value],
                        )
    total = sum(counts.values())
    if total and not dry_run:
        audit_record(
            actor=actor,
            action="crypto.rotate_keys",
            object_type="crypto",
            object_repr=f"{total} values",
            changes={k: v for k, v in counts.items() if v},
        )
    return counts
