"""Markdown (CommonMark with tables): a paragraph, list, table or code block per block; front matter's title."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from kefu.knowledge.loaders.base import decode_text, read_source
from kefu.knowledge.loaders.document import SOFT, Block, Document, Outline, clean_text, finish, soft_joins
from kefu.knowledge.loaders.html import parse_html

__all__ = ["load_markdown", "parse_markdown"]

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.S)


def _md_inline(token: Any) -> str:
    out: list[str] = []
    for c in token.children or ():
        if c.type in ("text", "code_inline", "image"):
            out.append(c.content)
        elif c.type == "softbreak":
            out.append(SOFT)
        elif c.type == "hardbreak":
            out.append("\n")
    return soft_joins("".join(out))


def parse_markdown(text: str) -> tuple[str, list[Block]]:
    """(title, blocks) of Markdown text: a paragraph, list, table or code block per block."""
    from markdown_it import MarkdownIt

    title = ""
    fm = _FRONT_MATTER.match(text)
    if fm:
        m = re.search(r"^title:\s*['\"]?(.*?)['\"]?\s*$", fm.group(1), re.M)
        title = m.group(1) if m else ""
        text = text[fm.end() :]
    outline = Outline()
    blocks: list[Block] = []
    lines: list[str] = []
    lists: list[list[Any]] = []  # [marker kind, next number]
    pending_marker = ""
    heading_level = 0
    cells: list[str] | None = None

    def flush() -> None:
        body = clean_text("\n".join(lines))
        if body:
            blocks.append(outline.block(body))
        lines.clear()

    for tok in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text):
        t = tok.type
        if t == "heading_open":
            flush()
            heading_level = int(tok.tag[1])
        elif t == "inline":
            content = _md_inline(tok)
            if heading_level:
                outline.heading(heading_level, content)
                if heading_level == 1 and not title:
                    title = content
            elif cells is not None:
                cells.append(" ".join(content.split()))
            else:
                indent = "  " * max(len(lists) - 1, 0)
                lines.append(indent + pending_marker + content if pending_marker else indent + content)
                pending_marker = ""
        elif t == "heading_close":
            heading_level = 0
        elif t in ("bullet_list_open", "ordered_list_open"):
            lists.append(["-" if t == "bullet_list_open" else "ol", int(tok.attrs.get("start") or 1)])
        elif t in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t == "list_item_open" and lists:
            kind = lists[-1]
            pending_marker = "- " if kind[0] == "-" else f"{kind[1]}. "
            if kind[0] == "ol":
                kind[1] += 1
        elif t == "tr_open":
            cells = []
        elif t == "tr_close":
            lines.append(" | ".join(c for c in cells or [] if c))
            cells = None
        elif t in ("fence", "code_block"):
            lines.append(tok.content.rstrip("\n"))
        elif t == "html_block":
            lines.append(_html_fragment_text(tok.content))
        if tok.level == 0 and tok.nesting in (0, -1) and t != "inline":
            flush()
    flush()
    return title, blocks


def _html_fragment_text(html: str) -> str:
    return "\n".join(b.text for b in parse_html(html)[1])


def load_markdown(source: str | PurePath, data: bytes | None = None) -> Document:
    raw = read_source(source, data)
    title, blocks = parse_markdown(decode_text(source, raw))
    return finish(source, "markdown", title, blocks, raw)
