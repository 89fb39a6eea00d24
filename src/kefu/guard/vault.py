"""The per-session PII vault: the originals that `pii.mask` replaced, kept encrypted.

Messages, logs, metrics and exports only ever hold placeholders ("[手机号]"); an authorised step (an order
look-up, an agent with the right role) opens the vault to use the original. Each original is sealed on its own
with AES-256-GCM (random 96-bit nonce) and the session id as associated data, so a sealed value copied into
another session's rows does not open, and a changed byte does not open either.

Blob layout: version byte (1) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kefu.guard.pii import Masked, mask

_VERSION = 1
_NONCE = 12
_AAD_PREFIX = b"kefu-pii-vault/v1/"


class VaultError(ValueError):
    """A sealed value that does not open: wrong key, wrong session, or tampered with."""


def derive_key(secret: str) -> bytes:
    """A 32-byte AES key from a configured secret (HKDF-SHA256), so `guard.vault_key` can be any string.

    HKDF is not a password hash: the secret must carry enough entropy itself (`generate_key()` makes one)."""
    if not secret:
        raise ValueError("empty vault secret")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kefu-pii-vault", info=b"kefu guard vault key v1")
    return hkdf.derive(secret.encode("utf-8"))


def generate_key() -> str:
    """A fresh random secret for `guard.vault_key` (32 random bytes, URL-safe base64)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")


class Vault:
    """Seals and opens single values under one key; the session id is bound to every value."""

    def __init__(self, key: bytes | str) -> None:
        # Raw bytes of an AES key length are used as they are; anything else (a configured string) goes
        # through HKDF.
        if isinstance(key, bytes) and len(key) in (16, 24, 32):
            raw = key
        elif isinstance(key, bytes):
            raw = derive_key(key.decode("latin-1"))
        else:
            raw = derive_key(key)
        self._aead = AESGCM(raw)

    @staticmethod
    def _aad(session_id: str) -> bytes:
        return _AAD_PREFIX + session_id.encode("utf-8")

    def seal(self, plain: str, session_id: str) -> bytes:
        """Encrypt `plain` for `session_id`."""
        nonce = os.urandom(_NONCE)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, plain.encode("utf-8"), self._aad(session_id))

    def open(self, blob: bytes, session_id: str) -> str:
        """Decrypt a value sealed for `session_id`; VaultError if the key, the session or the bytes differ."""
        blob = bytes(blob)
        if len(blob) < 1 + _NONCE + 16 or blob[0] != _VERSION:
            raise VaultError("not a kefu vault blob")
        try:
            plain = self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], self._aad(session_id))
        except InvalidTag:
            raise VaultError("vault value does not open with this key and session") from None
        return plain.decode("utf-8")

    def open_all(self, items: list[tuple[str, bytes]], session_id: str) -> list[tuple[str, str]]:
        """(kind, original) for the (kind, sealed) rows of a session, as `Store.vault_get` returns them."""
        return [(kind, self.open(blob, session_id)) for kind, blob in items]


def mask_and_seal(text: str, session_id: str, vault: Vault) -> tuple[Masked, list[tuple[str, bytes]]]:
    """Mask a customer message and seal each original, in order: what to send on, and what to keep
    (`Store.vault_put(tenant, session, items, message_id)`)."""
    masked = mask(text)
    return masked, [(sp.kind, vault.seal(sp.text, session_id)) for sp in masked.spans]
