"""What the admin routes need to know about the caller: the permission each route asks for, as Annotated
aliases (`KbReader`, `KbWriter`, ...); the tenant is always the caller's (http/auth.py)."""

from __future__ import annotations

from typing import Annotated

from kefu.http.auth import require
from kefu.ops.auth.roles import Permission, Principal

KbReader = Annotated[Principal, require(Permission.KB_READ)]
KbWriter = Annotated[Principal, require(Permission.KB_WRITE)]
SessionsReader = Annotated[Principal, require(Permission.SESSIONS_READ)]
UsersAdmin = Annotated[Principal, require(Permission.USERS)]
KeysAdmin = Annotated[Principal, require(Permission.KEYS)]
BotsAdmin = Annotated[Principal, require(Permission.BOTS)]
AuditReader = Annotated[Principal, require(Permission.AUDIT)]
