"""The PII vault: AES-GCM sealing bound to the session, and its table on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from kefu.guard.vault import Vault, VaultError, derive_key, generate_key, mask_and_seal
from kefu.store.repo import Store
from tests.store.turns import begin_turn

KEY = bytes(range(32))


def test_round_trip() -> None:
    v = Vault(KEY)
    blob = v.seal("13812341234", "s-1")
    assert b"13812341234" not in blob and len(blob) == 1 + 12 + len(b"13812341234") + 16
    assert v.open(blob, "s-1") == "13812341234"
    assert v.open(v.seal("北京市朝阳区建国路88号", "s-1"), "s-1") == "北京市朝阳区建国路88号"
    # A fresh nonce per value: sealing the same value twice gives different bytes.
    assert v.seal("x", "s-1") != v.seal("x", "s-1")


def test_wrong_session_fails() -> None:
    v = Vault(KEY)
    blob = v.seal("110101199003071234", "session-a")
    with pytest.raises(VaultError):
        v.open(blob, "session-b")


def test_wrong_key_fails() -> None:
    blob = Vault(KEY).seal("zhang@example.com", "s")
    with pytest.raises(VaultError):
        Vault(bytes(32)).open(blob, "s")
    with pytest.raises(VaultError):
        Vault("another secret").open(blob, "s")


def test_tampered_or_foreign_blob_fails() -> None:
    v = Vault(KEY)
    blob = bytearray(v.seal("6222020200112345679", "s"))
    blob[-1] ^= 1
    with pytest.raises(VaultError):
        v.open(bytes(blob), "s")
    with pytest.raises(VaultError):
        v.open(b"\x01short", "s")


def test_keys_from_settings_strings() -> None:
    assert len(derive_key("a configured secret")) == 32
    assert derive_key("a configured secret") == derive_key("a configured secret") != derive_key("another")
    secret = generate_key()
    assert len(secret) >= 43 and secret != generate_key()
    # A string key is derived; the same string opens what it sealed, in another Vault instance too.
    assert Vault(secret).open(Vault(secret).seal("x", "s"), "s") == "x"
    assert Vault(derive_key(secret)).open(Vault(secret).seal("y", "s"), "s") == "y"
    with pytest.raises(ValueError):
        derive_key("")


def test_mask_and_seal() -> None:
    v = Vault(KEY)
    masked, items = mask_and_seal("我叫张三，电话13812341234", "s-9", v)
    assert masked.text == "我叫[姓名]，电话[手机号]"
    assert [k for k, _ in items] == ["name", "mobile"]
    assert v.open_all(items, "s-9") == [("name", "张三"), ("mobile", "13812341234")]
    assert all(b"13812341234" not in blob for _, blob in items)
    masked, items = mask_and_seal("订单2024051812345678怎么还没到", "s-9", v)
    assert masked.text == "订单2024051812345678怎么还没到" and items == []


def test_vault_table_migrated(store: Store) -> None:
    cols = {c["name"] for c in inspect(store.engine).get_columns("pii_vault")}
    assert cols == {"id", "tenant_id", "session_id", "message_id", "kind", "sealed", "created_at"}
    assert any(ix["column_names"] == ["session_id"] for ix in inspect(store.engine).get_indexes("pii_vault"))


def test_vault_store_round_trip_and_tenant_isolation(store: Store) -> None:
    v = Vault(KEY)
    ctx = begin_turn(store, "default", "alice", None, "default", "[姓名] [手机号]")
    _, items = mask_and_seal("张三 13812341234", ctx.session_id, v)
    assert store.vault_put("default", ctx.session_id, items, message_id=ctx.user_message_id) == 2
    assert store.vault_put("default", ctx.session_id, []) == 0
    _, more = mask_and_seal("邮箱 zhang@example.com", ctx.session_id, v)
    store.vault_put("default", ctx.session_id, more)

    got = store.vault_get("default", ctx.session_id)
    assert v.open_all(got, ctx.session_id) == [
        ("name", "张三"),
        ("mobile", "13812341234"),
        ("email", "zhang@example.com"),
    ]
    # Another tenant asking for the same session id gets nothing; an unknown session gets nothing.
    assert store.vault_get("acme", ctx.session_id) == []
    assert store.vault_get("default", "no-such-session") == []
    # Rows moved to another session do not open there.
    other = begin_turn(store, "default", "bob", None, "default", "hi")
    store.vault_put("default", other.session_id, got[:1])
    with pytest.raises(VaultError):
        v.open_all(store.vault_get("default", other.session_id), other.session_id)
    # The database holds no clear text.
    with store.engine.connect() as conn:
        raw = b"".join(bytes(r[0]) for r in conn.exec_driver_sql("SELECT sealed FROM pii_vault"))
    assert b"13812341234" not in raw and "张三".encode() not in raw
