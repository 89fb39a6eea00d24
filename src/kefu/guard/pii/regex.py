"""Building the recognisers' patterns from word lists: prefix-factored alternations, word-list notation, and Han
character classes with exceptions (kefu.text owns which characters are Han)."""

from __future__ import annotations

import re

from kefu.text import HAN

_HAN_RANGES = [(ord(a), ord(b)) for a, b in re.findall("(.)-(.)", HAN)]


def trie(words: list[str]) -> str:
    """An alternation of `words` factored by common prefix (longest first), so that the regex engine tries one
    branch per first character instead of one per word."""
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict) -> str:
        alts = [re.escape(ch) + walk(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        if "" in node:
            return "(?:" + "|".join(alts) + ")?"
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return walk(root)


def words(spec: str) -> list[str]:
    """Expand "订单|退货 + |号|单号" (stems + suffixes, one group per line) and plain words into a word list."""
    out: list[str] = []
    for line in spec.strip().splitlines():
        if "+" in line:
            stems, suffixes = line.split("+")
            out += [a + b for a in stems.strip().split("|") for b in suffixes.strip().split("|")]
        else:
            out += line.split()
    return out


def han_class(exclude: set[str]) -> str:
    """A regex character class of the Han characters minus `exclude`."""
    out: list[str] = []
    for lo, hi in _HAN_RANGES:
        start = lo
        for cp in sorted(ord(c) for c in exclude if lo <= ord(c) <= hi):
            if cp > start:
                out.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
            start = cp + 1
        if start <= hi:
            out.append(f"\\u{start:04x}-\\u{hi:04x}")
    return "[" + "".join(out) + "]"
