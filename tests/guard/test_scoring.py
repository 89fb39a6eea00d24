"""The scorers' shared pieces: the labelled-set format and the percentile rule the figures are read with."""

from __future__ import annotations

from pathlib import Path

from kefu.guard.scoring import percentile, read_jsonl


def test_read_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    p = tmp_path / "set.jsonl"
    p.write_text('{"text": "a"}\n\n  \n{"text": "b", "attack": true}\n', encoding="utf-8")
    assert read_jsonl(p) == [{"text": "a"}, {"text": "b", "attack": True}]


def test_percentile_is_nearest_rank() -> None:
    xs = [float(i) for i in range(1, 101)]  # 1 .. 100
    assert percentile(xs, 0.5) == 51.0
    assert percentile(xs, 0.99) == 100.0
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert percentile([], 0.99) == 0.0
