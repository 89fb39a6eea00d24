"""The OpenAPI document tells the truth: schemathesis with all its checks (`st run --checks all`: every phase,
every operation, admin included) against kefu over real HTTP with the stand-in engine finds nothing: no server
error, no status, content type or body the document does not declare, no schema-valid request rejected, no
invalid one accepted, and a 405 with an Allow header for a method a path does not serve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ADMIN_HEADERS

# Over-long text and over-large bodies are refused with the 413 the document declares for them; schemathesis's
# default list of rejection statuses for schema-violating input lacks 413.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""


def test_openapi_document_holds_under_all_checks(live_server: str, tmp_path: Path) -> None:
    operations = [
        (path, method)
        for path, item in httpx.get(f"{live_server}/openapi.json").json()["paths"].items()
        for method in item
    ]
    assert {("/api/chat", "post"), ("/v1/chat/completions", "post"), ("/admin/kb/import", "post")} <= set(operations)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    seed = ["--seed", "1"] if os.environ.get("CI") == "true" else []  # CI is repeatable; local runs explore
    auth = ["-H", f"Authorization: {ADMIN_HEADERS['Authorization']}"]
    cli = "from schemathesis.cli import schemathesis; schemathesis()"
    st = [sys.executable, "-c", cli, "--config-file", str(config), "--no-color", "run", f"{live_server}/openapi.json"]
    run = subprocess.run(
        [*st, "--checks", "all", "--max-examples", "50", "--workers", "1", "--request-timeout", "10", *auth, *seed],
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert run.returncode == 0, run.stdout[run.stdout.find("FAILURES") :][:20000] + run.stderr[-2000:]
    assert f"Tested: {len(operations)}" in summary, summary
    assert "Traceback" not in run.stdout
