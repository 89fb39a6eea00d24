"""Word documents (.docx): paragraphs and tables in order, headings by style or outline level."""

from __future__ import annotations

import io
import re
from pathlib import PurePath
from typing import Any

from kefu.knowledge.loaders.base import LoadError, check_not_ole, corrupt, read_source
from kefu.knowledge.loaders.document import Block, Document, Outline, clean_text, finish

__all__ = ["load_docx"]

_DOCX_HEADING = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_DOCX_TITLE = re.compile(r"^(?:title|标题)$", re.I)


def _docx_style_level(paragraph: Any) -> int | None:
    """Heading level (1-9), 0 for the Title style, None for body text."""
    style = paragraph.style
    for _ in range(5):  # a custom style based on "Heading 2" is a heading too
        if style is None:
            break
        name = (style.name or "").strip()
        if m := _DOCX_HEADING.match(name):
            return int(m.group(1))
        if _DOCX_TITLE.match(name):
            return 0
        style = style.base_style
    levels = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if levels and levels[0].isdigit() and int(levels[0]) < 9:
        return int(levels[0]) + 1
    return None


def load_docx(source: str | PurePath, data: bytes | None = None) -> Document:
    """Paragraphs and tables in order; headings by style ("Heading N", "标题 N", or an outline level)."""
    raw = read_source(source, data)
    check_not_ole(source, raw)
    try:
        import docx
        from docx.table import Table

        doc = docx.Document(io.BytesIO(raw))
        title = doc.core_properties.title or ""
        items = list(doc.iter_inner_content())
    except Exception as e:
        raise LoadError(source, corrupt("DOCX")) from e

    outline = Outline()
    blocks: list[Block] = []
    list_lines: list[str] = []

    def flush_list() -> None:
        if list_lines:
            blocks.append(outline.block("\n".join(list_lines)))
            list_lines.clear()

    for item in items:
        if isinstance(item, Table):
            flush_list()
            rows = []
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:  # merged cells repeat: keep one
                    text = " ".join(cell.text.split())
                    if text and (not cells or cells[-1] != text):
                        cells.append(text)
                if cells:
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append(outline.block("\n".join(rows)))
            continue
        text = clean_text(item.text)
        if not text:
            continue
        level = _docx_style_level(item)
        if level == 0:
            title = title or text
        elif level:
            flush_list()
            outline.heading(level, text)
        elif "list" in (getattr(item.style, "name", "") or "").lower() or item._p.xpath("./w:pPr/w:numPr"):
            list_lines.append("- " + text)
        else:
            flush_list()
            blocks.append(outline.block(text))
    flush_list()
    return finish(source, "docx", title, blocks, raw)
