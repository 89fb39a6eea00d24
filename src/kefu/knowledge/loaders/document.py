"""A document as text blocks, each under its heading path; the cleaning every format shares; plain text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath

from kefu.knowledge.loaders.base import NO_TEXT, LoadError, decode_text, read_source, stable_id, stem_of
from kefu.text import CJK_PUNCT, HAN

__all__ = ["SOFT", "Block", "Document", "Outline", "clean_text", "finish", "load_txt", "soft_joins"]

_CJK_CHARS = HAN + CJK_PUNCT
_CJK_GAP = re.compile(rf"(?<=[{_CJK_CHARS}])[ \t]+(?=[{_CJK_CHARS}])")


@dataclass(frozen=True)
class Block:
    """A paragraph, list or table of a document, under the headings in `section` (outermost first)."""

    text: str
    section: tuple[str, ...] = ()
    level: int = 0  # level of the innermost heading above this block (1 = h1); 0 before any heading
    page: int | None = None  # 1-based page, for PDFs

    @property
    def section_title(self) -> str:
        return " > ".join(self.section)


@dataclass
class Document:
    source: str  # file name
    title: str
    format: str  # markdown | html | pdf | docx | txt
    blocks: list[Block]
    checksum: str = ""  # sha256 of the file's bytes
    id: str = ""  # stable per file name, so importing a new version of a file replaces the old one

    def __post_init__(self) -> None:
        if not self.id:
            self.id = stable_id(self.source, "doc")

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)


class Outline:
    """The heading path: a heading of level L closes every open heading of level >= L."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def heading(self, level: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self._stack)

    @property
    def level(self) -> int:
        return self._stack[-1][0] if self._stack else 0

    def block(self, text: str, page: int | None = None) -> Block:
        return Block(text=text, section=self.path, level=self.level, page=page)


def clean_text(text: str) -> str:
    """Trim each line, drop spaces between CJK characters (left by line wraps), drop blank lines."""
    lines = (_CJK_GAP.sub("", " ".join(line.split())) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


SOFT = "\x1f"  # a soft line break: a space between words, nothing between CJK characters
_SOFT_RUN = re.compile(r"[ \t]*\x1f[ \t]*")


def soft_joins(text: str) -> str:
    def join(m: re.Match[str]) -> str:
        s, a, b = m.string, m.start(), m.end()
        before = s[a - 1] if a > 0 else ""
        after = s[b] if b < len(s) else ""
        if re.match(f"[{_CJK_CHARS}]", before or " ") or re.match(f"[{_CJK_CHARS}]", after or " "):
            return ""
        return " " if before and after else ""

    return _SOFT_RUN.sub(join, text)


def finish(source: str | PurePath, fmt: str, title: str, blocks: list[Block], raw: bytes) -> Document:
    blocks = [b for b in blocks if b.text.strip()]
    if not blocks:
        raise LoadError(source, NO_TEXT)
    return Document(
        source=PurePath(str(source)).name,
        title=" ".join(title.split()) or stem_of(source),
        format=fmt,
        blocks=blocks,
        checksum=hashlib.sha256(raw).hexdigest(),
    )


def load_txt(source: str | PurePath, data: bytes | None = None) -> Document:
    """Plain text (UTF-8, UTF-16 with BOM or GB18030); paragraphs are separated by blank lines."""
    raw = read_source(source, data)
    text = decode_text(source, raw)
    blocks = [Block(p) for p in (clean_text(p) for p in re.split(r"\n\s*\n", text)) if p]
    return finish(source, "txt", "", blocks, raw)
