"""Derive an English FAQ and question set from BANKING77 (PolyAI, CC BY 4.0; training split only).

    .venv/bin/python tests/data/make_banking77.py        # from the repo root; reads ../shared/data/banking77

For each of the 77 intents, with the messages shuffled by a fixed seed:
- the FAQ entry: `question` = the pool's most typical message (the one sharing the most words with the other
  pool messages, ties to the shorter), `similar` = the other 10 messages of the pool, `answer` = a short
  templated answer naming the intent;
- the next 19 messages are the held-out evaluation questions (77 x 19 = 1,463 lines);
- the rest are tuning questions (`split()["tune"]`), never written, never used by the tests.

Deterministic: the same train.csv gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
FAQ_OUT = ROOT / "tests" / "data" / "banking77_faq.csv"
QUESTIONS_OUT = ROOT / "tests" / "data" / "banking77_questions.jsonl"

POOL = 11  # messages per intent that make up the FAQ entry (1 question + 10 similar)
HELD_OUT = 19  # evaluation questions per intent
SEED = 77

_WORD = re.compile(r"[a-z0-9']+")


def _typical(pool: list[str]) -> str:
    sets = [set(_WORD.findall(t.lower())) for t in pool]

    def overlap(i: int) -> float:
        return sum(len(sets[i] & s) / max(len(sets[i] | s), 1) for j, s in enumerate(sets) if j != i)

    best = max(range(len(pool)), key=lambda i: (overlap(i), -len(pool[i])))
    return pool[best]


def faq_id(intent: str) -> str:
    return "b77-" + intent.replace("_", "-")


def answer(intent: str) -> str:
    topic = intent.replace("_", " ")
    return (
        f"About {topic}: please open the app, go to Help and choose '{topic}'. "
        f"If that does not solve it, reply here and an agent will help you with {topic}."
    )


def split(source: Path = SOURCE) -> dict[str, list]:
    """{"faq": [{id, question, answer, similar: [...]}], "heldout": [{question, expected}], "tune": [...]}"""
    by_intent: dict[str, list[str]] = defaultdict(list)
    with source.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["category"]].append(row["text"].strip())
    rng = random.Random(SEED)
    faq, heldout, tune = [], [], []
    for intent in sorted(by_intent):
        msgs = sorted(set(by_intent[intent]))
        rng.shuffle(msgs)
        pool, held, rest = msgs[:POOL], msgs[POOL : POOL + HELD_OUT], msgs[POOL + HELD_OUT :]
        q = _typical(pool)
        faq.append(
            {"id": faq_id(intent), "question": q, "answer": answer(intent), "similar": [m for m in pool if m != q]}
        )
        heldout.extend({"question": m, "expected": [faq_id(intent)]} for m in held)
        tune.extend({"question": m, "expected": [faq_id(intent)]} for m in rest)
    rng.shuffle(heldout)
    return {"faq": faq, "heldout": heldout, "tune": tune}


def main() -> None:
    data = split()
    with FAQ_OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "question", "answer", "similar", "category"])
        for e in data["faq"]:
            w.writerow(
                [e["id"], e["question"], e["answer"], "|".join(s.replace("|", "/") for s in e["similar"]), "banking"]
            )
    with QUESTIONS_OUT.open("w", encoding="utf-8") as f:
        for q in data["heldout"]:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    print(f"{FAQ_OUT.name}: {len(data['faq'])} entries; {QUESTIONS_OUT.name}: {len(data['heldout'])} questions")


if __name__ == "__main__":
    main()
