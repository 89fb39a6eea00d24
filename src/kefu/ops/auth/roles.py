"""Who may do what: the one table of roles and API-key scopes (docs/accounts.md shows it). A route asks for a
permission, never for a role, so a new role or scope is one line here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Permission(StrEnum):
    CHAT = "chat"  # talk to a bot as a channel or integration
    KB_READ = "kb:read"
    KB_WRITE = "kb:write"
    SESSIONS_READ = "sessions:read"  # conversations and their messages
    AGENT = "agent"  # take over conversations (the agent console)
    SUPERVISE = "supervise"  # assign and transfer conversations, see every agent's
    USERS = "users:manage"
    KEYS = "keys:manage"
    BOTS = "bots:manage"
    AUDIT = "audit:read"


P = Permission
ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(P),
    "supervisor": frozenset({P.KB_READ, P.KB_WRITE, P.SESSIONS_READ, P.AGENT, P.SUPERVISE, P.AUDIT}),
    "agent": frozenset({P.KB_READ, P.SESSIONS_READ, P.AGENT}),
    "viewer": frozenset({P.KB_READ, P.SESSIONS_READ}),
}
# What an API key's scopes grant. "admin" is every permission of the tenant except managing people and keys:
# a leaked integration key cannot mint more keys or users.
SCOPES: dict[str, frozenset[Permission]] = {
    "chat": frozenset({P.CHAT}),
    "kb:read": frozenset({P.KB_READ}),
    "kb:write": frozenset({P.KB_READ, P.KB_WRITE}),
    "admin": frozenset(P) - {P.USERS, P.KEYS},
}


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the routes see it: the tenant always comes from here, never from a request field."""

    kind: str  # "user" | "api_key" | "bootstrap" (the deprecated admin token)
    tenant: str
    subject: int  # the user's or key's id; 0 for the bootstrap token
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    role: str | None = None  # users only
    bot: str | None = None  # an API key limited to one bot
    name: str = ""  # the user's e-mail or the key's name, for logs and the audit log

    @property
    def actor(self) -> str:
        return {"user": f"user:{self.subject}", "api_key": f"key:{self.subject}"}.get(self.kind, "admin-token")

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def role_permissions(role: str) -> frozenset[Permission]:
    return ROLES.get(role, frozenset())


def scope_permissions(scopes: list[str] | tuple[str, ...]) -> frozenset[Permission]:
    out: frozenset[Permission] = frozenset()
    for s in scopes:
        out |= SCOPES.get(s, frozenset())
    return out
