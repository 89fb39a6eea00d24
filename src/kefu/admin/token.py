"""The admin token `kefu serve` uses when the operator configured none: created once, random, kept in a
file only its owner can read, so a restart keeps it and the admin API is never open without one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kefu.ops.settings import Settings


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """The configured token, else the one in `admin_token_file` (created now if missing).
    Returns the token and whether it was created at this call."""
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return settings.admin_token.get_secret_value(), False
    path = Path(settings.admin_token_file)
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "kfa_" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token, True
