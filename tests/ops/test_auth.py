"""ops/auth: the roles table as docs/accounts.md states it, password hashes, signing keys and their rotation."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from kefu.ops.auth.passwords import hash_password, password_problem, verify_password
from kefu.ops.auth.roles import ROLES, SCOPES, Permission, scope_permissions
from kefu.ops.auth.tokens import TokenError, issue_access, load_key_ring, read_access

DOC = Path(__file__).resolve().parents[2] / "docs" / "accounts.md"


def _table(header_start: str) -> dict[str, dict[str, bool]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(header_start))
    cols = [c.strip() for c in lines[i].strip("|").split("|")][1:]
    out = {}
    for line in lines[i + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0].strip("`")] = {col: cell == "✓" for col, cell in zip(cols, cells[1:], strict=True)}
    return out


def test_the_documented_tables_are_the_code() -> None:
    roles = _table("| permission | admin | supervisor")
    scopes = _table("| permission | chat | kb:read")
    assert set(roles) == {p.value for p in Permission} == set(scopes)
    for perm, row in roles.items():
        assert row == {r: Permission(perm) in ROLES[r] for r in ROLES}, perm
    for perm, row in scopes.items():
        assert row == {s: Permission(perm) in SCOPES[s] for s in SCOPES}, perm


def test_no_scope_manages_people_or_keys() -> None:
    every = scope_permissions(list(SCOPES))
    assert Permission.USERS not in every and Permission.KEYS not in every


def test_passwords() -> None:
    h = hash_password("correct horse battery")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert verify_password(h, "correct horse battery")
    assert not verify_password(h, "correct horse batterY")
    assert not verify_password(None, "anything at all")  # an unknown user: the dummy hash, never True
    assert not verify_password("not a hash", "x")
    assert password_problem("short") and password_problem("x" * 300)
    assert password_problem("a long enough pass") is None


def _claims(ring, ttl: int = 60) -> str:  # type: ignore[no-untyped-def]
    token, _ = issue_access(ring, tenant="t", user_id=7, role="agent", version=2, issuer="kefu", audience="c",
                            ttl_s=ttl)  # fmt: skip
    return token


def test_key_file_is_created_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jwt.keys"
    ring = load_key_ring({}, None, str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_key_ring({}, None, str(path))
    assert again.keys == ring.keys and again.active == ring.active
    secret = next(iter(ring.keys.values())).decode()
    assert secret not in repr(ring)


def test_rotation_keeps_old_tokens_while_their_key_is_listed() -> None:
    old = load_key_ring({"k1": "a" * 40}, None, "/nonexistent")
    token = _claims(old)
    both = load_key_ring({"k1": "a" * 40, "k2": "b" * 40}, "k2", "/nonexistent")
    assert read_access(both, token, issuer="kefu", audience="c")["sub"] == "7"
    new_token = _claims(both)
    assert '"kid":"k2"' in __import__("base64").urlsafe_b64decode(new_token.split(".")[0] + "==").decode()
    only_new = load_key_ring({"k2": "b" * 40}, None, "/nonexistent")
    with pytest.raises(TokenError):
        read_access(only_new, token, issuer="kefu", audience="c")
    with pytest.raises(TokenError):
        read_access(both, token, issuer="kefu", audience="other")


def test_weak_or_missing_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        load_key_ring({"k": "short"}, None, "/nonexistent")
    with pytest.raises(ValueError, match="active"):
        load_key_ring({"k": "a" * 40}, "other", "/nonexistent")


def test_no_secret_in_settings_repr(tmp_path: Path) -> None:
    from kefu.ops.settings import AuthSettings

    s = AuthSettings(jwt_keys={"k": "supersecret-" * 4})
    assert "supersecret" not in repr(s) and not re.search("supersecret", str(s.model_dump()))
