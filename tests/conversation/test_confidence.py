"""The confidence model's pieces: the joint softmax, its fit, the isotonic map, the calibration error, and that a
model file of either kind loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kefu.conversation.confidence import (
    ConfidenceModel,
    JointExample,
    expected_calibration_error,
    fit_isotonic,
    fit_joint,
    fit_joint_calibrated,
    softmax_shares,
)


def test_softmax_shares_leave_room_for_none() -> None:
    faq, doc = softmax_shares([2.0, 0.0], 1.0)
    assert len(faq) == 2 and 0 < doc < faq[0] and sum(faq) + doc < 1.0
    assert softmax_shares([], None) == ([], 0.0)
    faq, doc = softmax_shares([1e6, -1e6], None)  # no overflow
    assert faq[0] == pytest.approx(1.0) and doc == 0.0


def _examples(n: int, seed: int = 0) -> list[JointExample]:
    """Questions whose right candidate has the highest first feature; a third of them have none right."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        right = None if i % 3 == 0 else int(rng.integers(0, 3))
        faq = [[float(rng.normal(2.0 if j == right else -1.0)), 1.0] for j in range(3)]
        out.append(JointExample(faq, [float(rng.normal()), 1.0], right))
    return out


def test_fit_joint_learns_which_feature_tells() -> None:
    wf, wd = fit_joint(_examples(300))
    assert len(wf) == 2 and len(wd) == 2 and wf[0] > 1.0  # the telling feature gets a large positive weight
    *_, fmap, dmap = fit_joint_calibrated(_examples(300))
    for points in (fmap, dmap):
        xs, ys = [x for x, _ in points], [y for _, y in points]
        assert xs == sorted(xs) and ys == sorted(ys) and all(0.01 <= y <= 0.99 for y in ys)
    assert fmap[-1][1] > 0.8  # the clearly right candidates are mapped to a high share right


def test_isotonic_map_is_monotone_and_bounded() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.9])
    right = np.array([0, 1, 0, 1, 1, 1])
    ys = [y for _, y in fit_isotonic(scores, right)]
    assert ys == sorted(ys) and ys[0] >= 0.01 and ys[-1] <= 0.99


def test_calibration_error() -> None:
    assert expected_calibration_error([], []) == 0.0
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)


def test_both_kinds_of_model_file_load(tmp_path: Path) -> None:
    shipped = ConfidenceModel.load()
    assert shipped.kind == "joint" and len(shipped.faq_w) == 16 and len(shipped.doc_w) == 12
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"faq": [1.0] + [0.0] * 15, "doc": [0.0] * 11 + [-5.0]}), "utf-8")
    assert ConfidenceModel.load(old).kind == ""  # a file without "kind": the per-candidate models
    assert ConfidenceModel.load(tmp_path / "missing.json").faq_w == ConfidenceModel().faq_w
