"""Chunking: a document's blocks become retrieval-sized chunks that follow its headings and paragraphs.

- A chunk never spans two sections (heading paths); within a section, paragraphs are packed together and
  a chunk prefers to end where a paragraph ends.
- Chunks end at sentence boundaries: 。！？；!?; (with closing quotes), a period before a space, a line
  break. A sentence is cut only when it alone is longer than `max_chars`, at a clause mark (，、：,:) or a
  space where it can be; so no chunk is ever longer than `max_chars`.
- Each chunk after the first in a section starts with the last whole sentences of the one before, up to
  `overlap` characters; when the last sentence is longer than that, its last clauses that fit.

Pure functions over strings, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.knowledge.loaders import Block, Document

MAX_CHARS = 400
OVERLAP = 60
SECTION_SEP = " > "

_CLOSERS = "”’\"'」』）)\\]】"
_BOUNDARY = re.compile(
    rf"(?:[。！？；!?;]+|…+|\.{{3}}|\.(?=[{_CLOSERS}]*(?:\s|$)))[{_CLOSERS}]*[ \t\u3000]*|\n\s*",
)
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,3}|[a-zA-Z])[.)]\s*$")
_ABBREVIATION = re.compile(r"(?:^|\s)(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|no|st|approx|incl)\.\s*$", re.I)
_CLAUSE = re.compile(r"[，、：,:]+\s*")


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    doc_name: str
    section: str  # the heading path joined with " > "; "" before the first heading
    position: int  # 0, 1, 2, ... through the whole document
    text: str
    page: int | None = None  # 1-based page where the chunk starts (PDF)


def _split_after(pattern: re.Pattern[str], text: str) -> list[str]:
    """Pieces that end where `pattern` matches (the match stays with the piece before it)."""
    pieces: list[str] = []
    start = 0
    for m in pattern.finditer(text):
        if m.end() > start:
            pieces.append(text[start : m.end()])
            start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _clauses(sentence: str) -> list[str]:
    return _split_after(_CLAUSE, sentence)


def split_sentences(text: str) -> list[str]:
    """Sentences, each with the spacing that follows it, so that "".join(result) == text."""
    out: list[str] = []
    for piece in _split_after(_BOUNDARY, text):
        if out and (not out[-1].strip() or not piece.strip()):
            out[-1] += piece  # spacing alone is no sentence
        elif out and (_LIST_MARKER.match(out[-1]) or _ABBREVIATION.search(out[-1])):
            out[-1] += piece  # "1. " or "e.g. " does not end a sentence
        else:
            out.append(piece)
    return out


def _hard_split(text: str, max_chars: int) -> list[str]:
    """Pieces of at most max_chars: at the last space in the second half of a window, else at max_chars."""
    out: list[str] = []
    while len(text) > max_chars:
        cut = text.rfind(" ", max_chars // 2, max_chars + 1)
        cut = cut + 1 if cut > 0 else max_chars
        out.append(text[:cut])
        text = text[cut:]
    if text:
        out.append(text)
    return out


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than max_chars, cut at clause marks where possible; pieces of at most max_chars."""
    pieces: list[str] = []
    for clause in _clauses(sentence):
        for part in _hard_split(clause, max_chars):
            if pieces and len(pieces[-1]) + len(part) <= max_chars:
                pieces[-1] += part
            else:
                pieces.append(part)
    return pieces


@dataclass(frozen=True)
class _Unit:
    text: str
    para_start: bool
    page: int | None


def _measure(units: Sequence[_Unit]) -> int:
    return sum(len(u.text) for u in units) + sum(1 for u in units[1:] if u.para_start)


def _join(units: Sequence[_Unit]) -> str:
    parts = [("\n" if i and u.para_start else "") + u.text for i, u in enumerate(units)]
    return "\n".join(line.strip() for line in "".join(parts).strip().split("\n"))


def _tail(units: Sequence[_Unit], overlap: int) -> list[_Unit]:
    """The last whole sentences within `overlap` chars; else the last sentence's last clauses that fit."""
    out: list[_Unit] = []
    total = 0
    for u in reversed(units):
        size = len(u.text.strip())
        if total + size > overlap:
            break
        out.insert(0, u)
        total += size + 1
    if out or not units or overlap <= 0:
        return out
    last = units[-1]
    tail = ""
    for clause in reversed(_clauses(last.text)[1:]):  # never the whole sentence: it did not fit
        if len(tail) + len(clause) > overlap:
            break
        tail = clause + tail
    return [_Unit(tail, False, last.page)] if tail.strip() else []


def _units(paragraphs: Iterable[tuple[str, int | None]], max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    for text, page in paragraphs:
        first = True
        for sentence in split_sentences(text.strip()):
            for piece in [sentence] if len(sentence) <= max_chars else _split_long(sentence, max_chars):
                if piece.strip():
                    units.append(_Unit(piece, first, page))
                    first = False
    return units


def _pack(units: list[_Unit], max_chars: int, overlap: int) -> list[tuple[str, int | None]]:
    # Length of each paragraph, at its first unit: a paragraph that will not fit starts a new chunk.
    para_len: dict[int, int] = {}
    start = 0
    for i, u in enumerate([*units, _Unit("", True, None)]):
        if u.para_start and i:
            para_len[start] = _measure(units[start:i])
            start = i
    chunks: list[tuple[str, int | None]] = []
    current: list[_Unit] = []
    fresh = 0  # units in `current` that are not overlap
    for i, u in enumerate(units):
        size = _measure([*current, u])
        close = fresh and (
            size > max_chars
            or (u.para_start and _measure(current) >= max_chars // 2 and size - len(u.text) + para_len[i] > max_chars)
        )
        if close:
            chunks.append((_join(current), current[-fresh].page))
            current = _tail(current, overlap)
            while current and _measure([*current, u]) > max_chars:
                current.pop(0)
            fresh = 0
        current.append(u)
        fresh += 1
    if fresh:
        chunks.append((_join(current), current[-fresh].page))
    return [c for c in chunks if c[0]]


def _check(max_chars: int, overlap: int) -> None:
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    if not 0 <= overlap < max_chars:
        raise ValueError(f"overlap must be in [0, max_chars), got {overlap}")


def chunk_text(text: str, *, max_chars: int = MAX_CHARS, overlap: int = OVERLAP) -> list[str]:
    """Plain text as chunks; paragraphs are separated by blank lines."""
    _check(max_chars, overlap)
    paragraphs = [(p, None) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [t for t, _ in _pack(_units(paragraphs, max_chars), max_chars, overlap)]


def chunk_blocks(
    blocks: Iterable[Block],
    *,
    doc_id: str,
    doc_name: str,
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP,
) -> list[Chunk]:
    """Blocks (in order) as chunks: consecutive blocks of one section are packed together."""
    _check(max_chars, overlap)
    chunks: list[Chunk] = []
    for section, group in groupby(blocks, key=lambda b: tuple(b.section)):
        units = _units(((b.text, b.page) for b in group), max_chars)
        for text, page in _pack(units, max_chars, overlap):
            chunks.append(Chunk(doc_id, doc_name, SECTION_SEP.join(section), len(chunks), text, page))
    return chunks


def chunk_document(doc: Document, *, max_chars: int = MAX_CHARS, overlap: int = OVERLAP) -> list[Chunk]:
    return chunk_blocks(doc.blocks, doc_id=doc.id, doc_name=doc.source, max_chars=max_chars, overlap=overlap)
