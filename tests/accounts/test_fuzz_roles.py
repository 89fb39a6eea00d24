"""schemathesis over the whole OpenAPI document with a valid login of each role (and an API key of every scope):
whatever a role may or may not do, nothing answers 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.accounts.kefu_server import Kefu

# The admin last: its run may change the others' passwords and roles (which ends their logins) and its own password.
ROLES = ("key", "viewer", "agent", "supervisor", "admin")
# Logging out would spend the credential the rest of the run uses: those two operations are left out.
SKIP = r"^/auth/logout"


@pytest.fixture(scope="module")
def kefu(tmp_path_factory: pytest.TempPathFactory, demo_index: object):  # type: ignore[no-untyped-def]
    with Kefu(tmp_path_factory.mktemp("fuzz-roles")) as k:
        # every credential before any fuzzing: a fuzzed login may lock an account for the rest of the module
        body = {"name": "fuzz", "scopes": ["chat", "kb:read", "kb:write", "admin"]}
        k.tokens = {"key": k.http.post("/admin/keys", json=body, headers=k.as_("admin")).json()["key"]}
        k.tokens |= {r: k.login(f"{r}@shop.cn")["access_token"] for r in ROLES if r != "key"}
        yield k


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_for_any_role(kefu: Kefu, role: str, tmp_path: Path) -> None:
    token = kefu.tokens[role]
    seed = ["--seed", "1"] if os.environ.get("CI") == "true" else []
    cli = "from schemathesis.cli import schemathesis; schemathesis()"
    run = subprocess.run(
        [sys.executable, "-c", cli, "--no-color", "run", f"{kefu.server.url}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", "12", "--workers", "1", "--request-timeout", "10",
         "--exclude-path-regex", SKIP, "-H", f"Authorization: Bearer {token}", *seed],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[run.stdout.find("FAILURES") :][:20000] + run.stderr[-2000:]
    assert "Traceback" not in run.stdout
