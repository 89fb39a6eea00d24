"""Security of the accounts issue, each case a real request over HTTP to kefu in uvicorn: tokens forged, expired,
for another audience or key, `alg: none`; refresh tokens revoked or replayed; API keys revoked or for another
tenant; roles overstepped; another tenant's ids; X-Forwarded-For spoofed past a rate limit; a brute-force login run
into the lockout. Every one refused with the right status, and nothing changed."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from kefu.ops.settings import RateLimits
from kefu.store.repo import Store
from tests.accounts.kefu_server import AUTH, PASSWORD, SECRET, Kefu


@pytest.fixture
def kefu(tmp_path: Path, demo_index: object) -> Iterator[Kefu]:
    with Kefu(tmp_path) as k:
        yield k


def _claims(**over: object) -> dict:
    now = int(time.time())
    base = {
        "iss": "kefu",
        "aud": "kefu-console",
        "sub": "1",
        "ten": "default",
        "role": "admin",
        "ver": 0,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(over)
    return base


def _refused(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert "error" in body and "Traceback" not in r.text
    assert SECRET not in r.text


def test_bad_access_tokens_are_refused(kefu: Kefu) -> None:
    admin = kefu.ids["admin"]
    good = jwt.encode(_claims(sub=str(admin)), SECRET, algorithm="HS256", headers={"kid": "k1"})
    assert kefu.http.get("/admin/users", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    forged = jwt.encode(_claims(sub=str(admin)), "x" * 48, algorithm="HS256", headers={"kid": "k1"})
    expired = jwt.encode(
        _claims(sub=str(admin), exp=int(time.time()) - 60, iat=int(time.time()) - 700),
        SECRET,
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    audience = jwt.encode(_claims(sub=str(admin), aud="someone-else"), SECRET, algorithm="HS256", headers={"kid": "k1"})
    issuer = jwt.encode(_claims(sub=str(admin), iss="evil"), SECRET, algorithm="HS256", headers={"kid": "k1"})
    wrong_kid = jwt.encode(_claims(sub=str(admin)), SECRET, algorithm="HS256", headers={"kid": "k2"})
    hs512 = jwt.encode(_claims(sub=str(admin)), SECRET * 2, algorithm="HS512", headers={"kid": "k1"})

    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    alg_none = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{b64(_claims(sub=str(admin)))}."
    other_tenant = jwt.encode(_claims(sub=str(admin), ten="acme"), SECRET, algorithm="HS256", headers={"kid": "k1"})
    stale_role = jwt.encode(
        _claims(sub=str(kefu.ids["viewer"]), role="admin"), SECRET, algorithm="HS256", headers={"kid": "k1"}
    )
    for name, token in [
        ("forged", forged),
        ("expired", expired),
        ("audience", audience),
        ("issuer", issuer),
        ("wrong kid", wrong_kid),
        ("hs512", hs512),
        ("alg none", alg_none),
        ("garbage", "eyJhbGciOi.x.y"),
        ("other tenant", other_tenant),
    ]:
        r = kefu.http.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
        _refused(r, 401)
        assert r.headers["WWW-Authenticate"] == "Bearer", name
    # a token's role claim is not believed: the user's row is (the viewer stays a viewer)
    _refused(kefu.http.get("/admin/users", headers={"Authorization": f"Bearer {stale_role}"}), 403)


def test_refresh_tokens_rotate_and_revoke(kefu: Kefu) -> None:
    first = kefu.login("agent@shop.cn")
    r = kefu.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    # the spent token replayed: refused, and the login it belongs to ends (the rotated one too)
    _refused(kefu.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401)
    _refused(kefu.http.post("/auth/refresh", json={"refresh_token": second["refresh_token"]}), 401)
    # logout revokes
    third = kefu.login("agent@shop.cn")
    headers = {"Authorization": f"Bearer {third['access_token']}"}
    assert (
        kefu.http.post("/auth/logout", json={"refresh_token": third["refresh_token"]}, headers=headers).status_code
        == 204
    )
    _refused(kefu.http.post("/auth/refresh", json={"refresh_token": third["refresh_token"]}), 401)
    _refused(kefu.http.post("/auth/refresh", json={"refresh_token": "kfr_" + "A" * 43}), 401)
    # log out everywhere: every access token of the user stops working at once
    a, b = kefu.login("agent@shop.cn"), kefu.login("agent@shop.cn")
    ha, hb = ({"Authorization": f"Bearer {x['access_token']}"} for x in (a, b))
    assert kefu.http.get("/auth/me", headers=hb).status_code == 200
    assert kefu.http.post("/auth/logout-all", headers=ha).status_code == 204
    _refused(kefu.http.get("/auth/me", headers=hb), 401)
    _refused(kefu.http.post("/auth/refresh", json={"refresh_token": b["refresh_token"]}), 401)


def test_api_keys_revoked_or_for_another_tenant(kefu: Kefu) -> None:
    admin, acme = kefu.as_("admin"), kefu.as_("acme-admin")
    r = kefu.http.post("/admin/keys", json={"name": "widget", "scopes": ["chat"]}, headers=acme)
    assert r.status_code == 201
    acme_key = r.json()["key"]
    assert acme_key.startswith("kf_")
    listed = kefu.http.get("/admin/keys", headers=acme).json()
    assert acme_key not in json.dumps(listed) and listed[0]["prefix"] == acme_key[:11]
    key_h = {"Authorization": f"Bearer {acme_key}"}
    ok = kefu.http.post("/api/chat", json={"text": "你好"}, headers=key_h)
    assert ok.status_code == 200, ok.text
    # for another tenant: the key's own tenant decides; naming another one is refused
    _refused(kefu.http.post("/api/chat", json={"text": "你好"}, headers={**key_h, "X-Tenant-Id": "default"}), 403)
    # a chat key is no admin key
    _refused(kefu.http.get("/admin/kb/faqs", headers=key_h), 403)
    # another tenant's admin cannot see or revoke it
    key_id = r.json()["id"]
    _refused(kefu.http.get(f"/admin/keys/{key_id}", headers=admin), 404)
    _refused(kefu.http.delete(f"/admin/keys/{key_id}", headers=admin), 404)
    assert kefu.http.post("/api/chat", json={"text": "你好"}, headers=key_h).status_code == 200
    # revoked: refused at once
    assert kefu.http.delete(f"/admin/keys/{key_id}", headers=acme).status_code == 204
    _refused(kefu.http.post("/api/chat", json={"text": "你好"}, headers=key_h), 401)
    _refused(kefu.http.post("/api/chat", json={"text": "你好"}, headers={"Authorization": "Bearer kf_nonsense"}), 401)
    assert kefu.http.get(f"/admin/keys/{key_id}", headers=acme).json()["revoked_at"] is not None


def test_roles_are_held_to_their_permissions(kefu: Kefu) -> None:
    agent, viewer = kefu.as_("agent"), kefu.as_("viewer")
    faq = kefu.http.get("/admin/kb/faqs", headers=viewer)
    assert faq.status_code == 200
    key = faq.json()["items"][0]["key"]
    before = kefu.http.get(f"/admin/kb/faqs/{key}", headers=viewer).json()
    for headers in (agent, viewer):
        _refused(kefu.http.get("/admin/users", headers=headers), 403)
        _refused(
            kefu.http.post(
                "/admin/users", headers=headers, json={"email": "x@shop.cn", "role": "admin", "password": PASSWORD}
            ),
            403,
        )
        _refused(kefu.http.post("/admin/keys", json={"name": "k", "scopes": ["admin"]}, headers=headers), 403)
        _refused(kefu.http.get("/admin/audit", headers=headers), 403)
        _refused(
            kefu.http.put(
                f"/admin/kb/faqs/{key}", json={"question": "改了？", "answer": "价格改成1元"}, headers=headers
            ),
            403,
        )
        _refused(kefu.http.delete(f"/admin/kb/faqs/{key}", headers=headers), 403)
        _refused(kefu.http.post("/admin/kb/import", files={"files": ("a.md", b"# x\n\ny")}, headers=headers), 403)
    assert kefu.http.get(f"/admin/kb/faqs/{key}", headers=viewer).json() == before
    assert len(kefu.http.get("/admin/users", headers=kefu.as_("admin")).json()) == 4
    # a supervisor edits knowledge but not people
    sup = kefu.as_("supervisor")
    _refused(kefu.http.get("/admin/users", headers=sup), 403)
    assert kefu.http.get("/admin/audit", headers=sup).status_code == 200


def test_tenants_never_see_each_other(kefu: Kefu) -> None:
    admin, acme = kefu.as_("admin"), kefu.as_("acme-admin")
    acme_key = kefu.http.post("/admin/keys", json={"name": "w", "scopes": ["chat"]}, headers=acme).json()["key"]
    chat = kefu.http.post(
        "/api/chat", json={"text": "你好", "customer_id": "c1"}, headers={"Authorization": f"Bearer {acme_key}"}
    )
    assert chat.status_code == 200
    acme_session = chat.json()["session_id"]
    assert kefu.http.get(f"/admin/sessions/{acme_session}", headers=acme).status_code == 200
    acme_audit = kefu.http.get("/admin/audit", headers=acme).json()
    assert acme_audit and all(e["action"] for e in acme_audit)
    acme_user = kefu.ids["acme-admin"]
    for path in (
        f"/admin/sessions/{acme_session}",
        "/admin/kb/faqs/acme-secret",
        f"/admin/users/{acme_user}",
        f"/admin/audit/{acme_audit[0]['id']}",
    ):
        _refused(kefu.http.get(path, headers=admin), 404)
        # naming the other tenant in the header does not help
        _refused(kefu.http.get(path, headers={**admin, "X-Tenant-Id": "acme"}), 404)
    _refused(kefu.http.patch(f"/admin/users/{acme_user}", json={"role": "viewer"}, headers=admin), 404)
    _refused(kefu.http.delete("/admin/kb/faqs/acme-secret", headers=admin), 404)
    assert kefu.http.get("/admin/kb/faqs/acme-secret", headers=acme).status_code == 200
    assert kefu.http.get(f"/admin/users/{acme_user}", headers=acme).json()["role"] == "admin"
    assert "acme" not in json.dumps(kefu.http.get("/admin/kb/faqs?limit=500", headers=admin).json())
    # the customer API: acme's session from the default tenant is unknown
    _refused(kefu.http.get(f"/api/sessions/{acme_session}/messages"), 404)
    _refused(kefu.http.post("/api/chat", json={"text": "再问", "session_id": acme_session}), 404)


def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_limit(tmp_path: Path, demo_index: object) -> None:
    auth = AUTH.model_copy(update={"rate_limits": RateLimits(ip=3, customer=1000, login=1000)})
    with Kefu(tmp_path, auth) as kefu:
        codes = [
            kefu.http.post("/api/chat", json={"text": f"你好{i}"}, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(5)
        ]
        assert [r.status_code for r in codes] == [200, 200, 200, 429, 429]
        assert int(codes[3].headers["Retry-After"]) >= 1
        _refused(codes[3], 429)


def test_forwarded_for_from_a_trusted_proxy_is_believed(tmp_path: Path, demo_index: object) -> None:
    auth = AUTH.model_copy(
        update={"rate_limits": RateLimits(ip=2, customer=1000, login=1000), "trusted_proxies": ["127.0.0.1"]}
    )
    with Kefu(tmp_path, auth) as kefu:
        for i in range(4):  # four clients behind the proxy: two each, none limited
            for _ in range(2):
                r = kefu.http.post("/api/chat", json={"text": "你好"}, headers={"X-Forwarded-For": f"198.51.100.{i}"})
                assert r.status_code == 200
        r = kefu.http.post("/api/chat", json={"text": "你好"}, headers={"X-Forwarded-For": "198.51.100.0"})
        _refused(r, 429)


def test_brute_force_login_runs_into_the_lockout(kefu: Kefu) -> None:
    before = kefu.http.get("/admin/audit?action=login.failed", headers=kefu.as_("admin")).json()
    for _ in range(3):
        r = kefu.http.post("/auth/login", json={"email": "agent@shop.cn", "password": "guess-guess-guess"})
        _refused(r, 401)
    # locked: even the right password is refused for now, with the time to wait
    r = kefu.http.post("/auth/login", json={"email": "agent@shop.cn", "password": PASSWORD})
    _refused(r, 429)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert "access_token" not in r.text
    # an unknown e-mail looks the same as a wrong password
    unknown = kefu.http.post("/auth/login", json={"email": "nobody@shop.cn", "password": "guess-guess-guess"})
    _refused(unknown, 401)
    assert (
        unknown.json() == kefu.http.post("/auth/login", json={"email": "admin@shop.cn", "password": "nope-nope"}).json()
    )
    # an unknown e-mail runs into the same lockout after as many tries: a 429 says nothing about who exists
    codes = [
        kefu.http.post("/auth/login", json={"email": "ghost@shop.cn", "password": "guess-guess"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    failed = kefu.http.get("/admin/audit?action=login.failed", headers=kefu.as_("admin")).json()
    assert len(failed) == len(before) + 4  # three for the agent, one for the admin
    # others are not locked out
    assert kefu.http.post("/auth/login", json={"email": "viewer@shop.cn", "password": PASSWORD}).status_code == 200


def test_bot_without_anonymous_customers_needs_a_key(kefu: Kefu) -> None:
    store = Store(kefu.settings.database_url)
    try:
        store.update_bot("default", "default", allow_anonymous=False, allowed_origins=["https://shop.example.com"])
    finally:
        store.close()
    time.sleep(Store.cache_ttl_s + 0.2)  # the running instance's bot cache
    _refused(kefu.http.post("/api/chat", json={"text": "你好"}), 401)
    _refused(
        kefu.http.post(
            "/v1/chat/completions", json={"model": "default", "messages": [{"role": "user", "content": "hi"}]}
        ),
        401,
    )
    key = kefu.http.post("/admin/keys", json={"name": "app", "scopes": ["chat"]}, headers=kefu.as_("admin")).json()[
        "key"
    ]
    h = {"Authorization": f"Bearer {key}"}
    assert kefu.http.post("/api/chat", json={"text": "你好"}, headers=h).status_code == 200
    # a browser on a site the bot does not list is refused; the listed one passes
    _refused(kefu.http.post("/api/chat", json={"text": "你好"}, headers={**h, "Origin": "https://evil.example"}), 403)
    r = kefu.http.post("/api/chat", json={"text": "你好"}, headers={**h, "Origin": "https://shop.example.com"})
    assert r.status_code == 200


def test_secrets_never_reach_the_logs(kefu: Kefu, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pair = kefu.login("admin@shop.cn")
    admin = {"Authorization": f"Bearer {pair['access_token']}"}
    key = kefu.http.post("/admin/keys", json={"name": "k", "scopes": ["chat"]}, headers=admin).json()["key"]
    kefu.http.post("/api/chat", json={"text": "你好"}, headers={"Authorization": f"Bearer {key}"})
    kefu.http.post("/auth/login", json={"email": "admin@shop.cn", "password": "wrong-password-xyz"})
    kefu.http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    kefu.http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})  # the reuse warning
    kefu.http.get("/admin/users", headers={"Authorization": "Bearer kf_" + "x" * 43})
    secrets = [PASSWORD, "wrong-password-xyz", key, pair["access_token"], pair["refresh_token"], SECRET, "x" * 43]
    assert any(r.name == "kefu.accounts.service" for r in caplog.records)  # the server's records are seen
    for rec in caplog.records:
        text = rec.getMessage() + " " + " ".join(str(v) for v in rec.__dict__.values())
        for s in secrets:
            assert s not in text, (rec.name, rec.getMessage())
