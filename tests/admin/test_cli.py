"""`kefu kb import` and `kefu kb search` through the real CLI (typer's runner, a fresh SQLite database): what
imports, what fails with its reason, and the ranked hits with their scores."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEFU_DATABASE_URL", f"sqlite:///{tmp_path / 'kefu.db'}")
    monkeypatch.setenv("KEFU_KB_EMBEDDER", "none")  # keyword search: the CLI's wiring, not the model, is tested
    monkeypatch.setenv("KEFU_DEMO_DATA", "false")
    monkeypatch.setenv("KEFU_GUARD__VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    return tmp_path


def _files(d: Path) -> list[Path]:
    faq = d / "faq.csv"
    faq.write_text("question,answer\n电子发票在哪里下载,在订单详情页点「发票」即可下载电子发票。\n", encoding="utf-8")
    doc = d / "保修.md"
    doc.write_text("# 保修政策\n\n## 屏幕\n\n手机屏幕自签收之日起保修一年，人为损坏不保修。\n", encoding="utf-8")
    bad = d / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    return [faq, doc, bad]


def test_import_then_search(env: Path) -> None:
    faq, doc, bad = _files(env)
    r = runner.invoke(app, ["kb", "import", str(faq), str(doc), str(bad)])
    assert r.exit_code == 0, r.output  # one bad file does not fail the batch
    assert "2 imported" in r.output and "1 failed" in r.output
    assert "broken.pdf" in r.output  # the failure names the file and the reason
    r = runner.invoke(app, ["kb", "search", "屏幕保修多久", "-k", "3"])
    assert r.exit_code == 0, r.output
    assert "保修.md" in r.output and "chunk" in r.output
    r = runner.invoke(app, ["kb", "search", "发票怎么下载"])
    assert r.exit_code == 0, r.output
    first = next(line for line in r.output.splitlines() if line.strip().startswith("│ 1") or " 1 " in line[:6])
    assert "faq" in first and "电子发票" in first, r.output


def test_import_only_bad_files_fails(env: Path) -> None:
    bad = env / "empty.docx"
    bad.write_bytes(b"")
    r = runner.invoke(app, ["kb", "import", str(bad)])
    assert r.exit_code == 1
    assert "empty.docx" in r.output and "0 imported" in r.output


def test_import_a_folder(env: Path) -> None:
    d = env / "docs"
    d.mkdir()
    _files(d)
    r = runner.invoke(app, ["kb", "import", str(d)])
    assert r.exit_code == 0, r.output
    assert "2 imported" in r.output and "1 failed" in r.output


def test_search_empty_knowledge_base(env: Path) -> None:
    r = runner.invoke(app, ["kb", "search", "随便问问"])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output


def test_bad_arguments(env: Path) -> None:
    assert runner.invoke(app, ["kb", "search", "x", "-k", "0"]).exit_code == 2
    assert runner.invoke(app, ["kb", "import"]).exit_code == 2
    r = runner.invoke(app, ["kb", "import", str(env / "missing.csv")])
    assert r.exit_code == 1 and "missing.csv" in r.output
