"""PDF: text per page unwrapped into paragraphs, sections from the bookmarks; encrypted PDFs that open
without a password are read."""

from __future__ import annotations

import io
import re
from pathlib import PurePath
from typing import Any

from kefu.knowledge.loaders.base import ENCRYPTED_PDF, LoadError, corrupt, read_source
from kefu.knowledge.loaders.document import SOFT, Block, Document, Outline, clean_text, finish, soft_joins

__all__ = ["load_pdf"]

_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*\d+\s*-|\d+|\d+\s*/\s*\d+|第\s*\d+\s*页.*|page\s+\d+(?:\s+of\s+\d+)?)\s*$", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_END = re.compile(r"[。！？!?；;：:.…”\"」』)）]$")


def _pdf_paragraphs(text: str) -> list[str]:
    """Undo a PDF's line wrapping: lines join into paragraphs (blank lines separate them); a line that
    ends a sentence keeps its line break."""
    paragraphs: list[str] = []
    current = ""
    text = _CONTROL.sub("", text.replace("\r", "\n"))  # some fonts' text comes out with NULs between letters
    for line in text.split("\n"):
        line = " ".join(line.split())
        if not line or _PAGE_NUMBER.match(line):
            if not line and current:
                paragraphs.append(current)
                current = ""
            continue
        if not current:
            current = line
        elif _LINE_END.search(current):
            current += "\n" + line
        elif current.endswith("-") and line[:1].islower():
            current = current[:-1] + line
        else:
            current += SOFT + line
    if current:
        paragraphs.append(current)
    return [p for p in (clean_text(soft_joins(p)) for p in paragraphs) if p]


def _pdf_outline(reader: Any) -> list[tuple[int, int, str]]:
    """(page index, level, title) of the PDF's bookmarks, in page order; [] when it has none or they break."""
    out: list[tuple[int, int, str]] = []

    def visit(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                visit(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:
                continue
            if page is not None and page >= 0 and getattr(item, "title", None):
                out.append((page, level, str(item.title)))

    try:
        visit(reader.outline, 1)
    except Exception:
        return []
    return sorted(out, key=lambda x: x[0])


def load_pdf(source: str | PurePath, data: bytes | None = None) -> Document:
    """Text per page, unwrapped into paragraphs; sections from the PDF's bookmarks when it has them.
    A PDF that opens without a password (owner-password only) is read; one that needs a password is not."""
    raw = read_source(source, data)
    try:
        from pypdf import PasswordType, PdfReader
        from pypdf.errors import DependencyError

        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
            except DependencyError as e:
                raise LoadError(source, ENCRYPTED_PDF + ": install 'cryptography' to open it") from e
            if not opened:
                raise LoadError(source, ENCRYPTED_PDF)
        pages = list(reader.pages)
    except LoadError:
        raise
    except Exception as e:
        raise LoadError(source, corrupt("PDF")) from e

    title = ""
    try:
        meta = reader.metadata
        title = str(meta.title or "") if meta else ""
    except Exception:
        title = ""
    marks = _pdf_outline(reader)
    outline = Outline()
    blocks: list[Block] = []
    failed = 0
    for index, page in enumerate(pages):
        while marks and marks[0][0] <= index:
            _, level, heading = marks.pop(0)
            outline.heading(level, heading)
        try:
            text = page.extract_text() or ""
        except Exception:
            failed += 1
            continue
        blocks.extend(outline.block(p, page=index + 1) for p in _pdf_paragraphs(text))
    if pages and failed == len(pages):
        raise LoadError(source, corrupt("PDF"))
    if not blocks:
        raise LoadError(source, "no extractable text: a scanned PDF needs OCR first (没有可提取的文字，可能是扫描件)")
    return finish(source, "pdf", title, blocks, raw)
