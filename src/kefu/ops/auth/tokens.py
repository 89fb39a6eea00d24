"""Signed access tokens (JWT, HS256 only, with issuer, audience, expiry and a key id so keys rotate) and the
opaque secrets kefu hands out once and keeps only as hashes (refresh tokens, API keys)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ALGORITHM = "HS256"
REFRESH_PREFIX = "kfr_"
API_KEY_PREFIX = "kf_"


class TokenError(ValueError):
    """Any reason an access token is not accepted; the caller answers 401 without saying which."""


@dataclass(frozen=True)
class KeyRing:
    """Signing keys by id: tokens are signed with `active`, accepted under any key still listed, so a key
    rotates by adding the new one as active and dropping the old one after the access-token lifetime."""

    keys: dict[str, bytes]
    active: str

    def __repr__(self) -> str:  # secrets never in logs or tracebacks
        return f"KeyRing(active={self.active!r}, keys={sorted(self.keys)!r})"


def load_key_ring(configured: dict[str, str], active: str | None, key_file: str) -> KeyRing:
    """The configured keys, else the ones in `key_file` (a random key created there, 0600, on first use)."""
    if configured:
        keys = {kid: s.encode() for kid, s in configured.items() if s}
    else:
        path = Path(key_file)
        keys = {}
        if path.is_file():
            keys = {k: v.encode() for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
        if not keys:
            path.parent.mkdir(parents=True, exist_ok=True)
            kid = "k" + time.strftime("%Y%m%d")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            secret = secrets.token_urlsafe(48)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({kid: secret}, f)
            keys = {kid: secret.encode()}
    if not keys:
        raise ValueError("no JWT signing key")
    if active is None:
        active = sorted(keys)[-1]
    if active not in keys:
        raise ValueError(f"the active JWT key id {active!r} is not among the keys")
    if any(len(k) < 32 for k in keys.values()):
        raise ValueError("JWT signing keys need at least 32 bytes")
    return KeyRing(keys, active)


def issue_access(
    ring: KeyRing, *, tenant: str, user_id: int, role: str, version: int, issuer: str, audience: str, ttl_s: int
) -> tuple[str, int]:
    """A signed access token and its expiry (Unix seconds)."""
    now = int(time.time())
    exp = now + ttl_s
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": str(user_id),
        "ten": tenant,
        "role": role,
        "ver": version,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, ring.keys[ring.active], algorithm=ALGORITHM, headers={"kid": ring.active})
    return token, exp


def read_access(ring: KeyRing, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of a valid token. Refused: another algorithm (``none`` included), an unknown key id, a bad
    signature, another issuer or audience, expired or not yet valid, claims missing."""
    try:
        header = jwt.get_unverified_header(token)
        key = ring.keys.get(str(header.get("kid", "")))
        if key is None or header.get("alg") != ALGORITHM:
            raise TokenError("key or algorithm")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "ten", "ver"]},
            leeway=5,
        )
        int(claims["sub"])
        int(claims["ver"])
    except TokenError:
        raise
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as e:
        raise TokenError(type(e).__name__) from None
    return claims


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """Stored instead of the secret: SHA-256 suffices for 256-bit random secrets (nothing to brute-force)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")
