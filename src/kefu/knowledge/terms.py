"""The trade's vocabulary, read once from `terms.json` (shipped beside `matcher_model.npz`).

- `SHOP_TERMS`: shop, bank and telecom terms jieba keeps whole (its own dictionary cuts some in two:
  收货地址, 借记卡).
- `CONTRASTS`: groups of contrasting key terms (退款/退货/换货, 信用卡/借记卡, ...). When one question names
  one member of a group and the other question another (and they share none), they are about different
  things even if every other word is shared. Each member is a tuple of surface forms (after
  `kefu.text.normalise`); a longer form found in a text hides the shorter forms inside it (运费险 is not 运费).
- `SYNONYMS`: words that ask the same thing in other words, mapped to one form before two questions' words
  are compared (the forms of one member of a contrast group are synonyms too).

They are data, not code, so that a deployment's vocabulary is one file; the matcher's model was fitted with
these tables, so a change to them is followed by a refit (`bench/train_matcher.py fit`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["CONTRASTS", "SHOP_TERMS", "SYNONYMS", "TERMS_FILE", "Contrasts", "Terms", "terms"]

TERMS_FILE = "terms.json"

Contrasts = tuple[tuple[tuple[str, ...], ...], ...]


@dataclass(frozen=True)
class Terms:
    shop_terms: tuple[str, ...]
    contrasts: Contrasts
    synonyms: dict[str, str]  # form -> the one form it is compared as


@cache
def terms() -> Terms:
    """The packaged tables, parsed once per process."""
    raw = json.loads(resources.files("kefu.knowledge").joinpath(TERMS_FILE).read_text("utf-8"))
    return Terms(
        shop_terms=tuple(raw["shop_terms"]),
        contrasts=tuple(tuple(tuple(member) for member in group) for group in raw["contrasts"]),
        synonyms={form: canonical for canonical, forms in raw["synonyms"].items() for form in forms},
    )


SHOP_TERMS: tuple[str, ...] = terms().shop_terms
CONTRASTS: Contrasts = terms().contrasts
SYNONYMS: dict[str, str] = terms().synonyms
