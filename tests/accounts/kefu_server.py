"""A running kefu over real HTTP with two tenants and a user of every role: what the accounts tests share."""

from __future__ import annotations

from pathlib import Path

import httpx

from kefu.accounts.service import Accounts
from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from kefu.ops.ratelimit import LocalRateLimiter
from kefu.ops.settings import AuthSettings, RateLimits
from kefu.store.knowledge import FaqRecord
from kefu.store.repo import Store
from tests.conftest import ServerThread, make_settings

SECRET = "s" * 48
PASSWORD = "correct horse battery"
AUTH = AuthSettings(
    jwt_keys={"k1": SECRET},
    jwt_active_key="k1",
    lockout_after=3,
    lockout_base_s=60,
    rate_limits=RateLimits(ip=1000, customer=1000, login=1000),
)


class Kefu:
    """A running kefu with two tenants (default, acme), a user of each role in default and an admin in acme."""

    def __init__(self, tmp_path: Path, auth: AuthSettings = AUTH) -> None:
        auth = auth.model_copy(update={"jwt_key_file": str(tmp_path / "jwt.keys")})
        self.settings = make_settings(tmp_path, auth=auth, admin_token=None)
        store = Store(self.settings.database_url)
        store.migrate()
        store.ensure_tenant("default")
        store.ensure_tenant("acme")
        accounts = Accounts(store, auth, LocalRateLimiter())
        self.ids = {}
        for role in ("admin", "supervisor", "agent", "viewer"):
            self.ids[role] = accounts.create_user("default", f"{role}@shop.cn", role, PASSWORD).id
        self.ids["acme-admin"] = accounts.create_user("acme", "boss@acme.cn", "admin", PASSWORD).id
        store.upsert_faq("acme", [FaqRecord(key="acme-secret", question="内部问题？", answer="acme 的内部答案")])
        store.close()
        self.server = ServerThread(create_app(self.settings, engine=QueueEngine(), configure_logs=False))

    def __enter__(self) -> Kefu:
        self.server.__enter__()
        self.http = httpx.Client(base_url=self.server.url, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.server.__exit__(*exc)

    def login(self, email: str, tenant: str = "default", password: str = PASSWORD) -> dict:
        r = self.http.post("/auth/login", json={"tenant": tenant, "email": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    def as_(self, role: str) -> dict[str, str]:
        email = "boss@acme.cn" if role == "acme-admin" else f"{role}@shop.cn"
        tenant = "acme" if role == "acme-admin" else "default"
        return {"Authorization": f"Bearer {self.login(email, tenant)['access_token']}"}
