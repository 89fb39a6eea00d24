"""Password hashes: argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile), checked off the event
loop by the caller (about 50 ms of CPU each, on purpose)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# Compared against when the e-mail is unknown, so a login with an unknown e-mail costs what a known one does.
_DUMMY = _HASHER.hash("kefu-dummy-password")
MIN_LENGTH = 10
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


def password_problem(password: str) -> str | None:
    """Why a new password is refused (bilingual), or None. Length only (NIST SP 800-63B: no composition rules)."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 个字符 / The password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 个字符 / The password may have at most {MAX_LENGTH} characters"
    return None
