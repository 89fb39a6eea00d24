"""HTML pages: text without scripts, styles, navigation and forms; headings become section titles."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from kefu.knowledge.loaders.base import LoadError, decode_text, read_source
from kefu.knowledge.loaders.document import Block, Document, Outline, clean_text, finish

__all__ = ["load_html", "parse_html"]

_HTML_DROP = frozenset("script style nav noscript template svg iframe head form button select footer".split())
_HTML_PARAGRAPH = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "blockquote",
        "figure",
        "figcaption",
        "address",
        "details",
        "summary",
        "center",
        "body",
        "html",
        "hr",
    ]
)
_HTML_LINE = frozenset({"li", "dt", "dd", "tr", "caption"})
_HTML_LIST = frozenset({"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "menu"})
_HTML_HEADING = re.compile(r"^h([1-6])$")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-zA-Z0-9_\-]+)", re.I)


class _HtmlWalker:
    def __init__(self) -> None:
        self.outline = Outline()
        self.blocks: list[Block] = []
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.nested = 0  # depth inside lists and tables, where paragraphs are lines of one block
        self.marker = ""  # "- " for a list item whose first line is still to come

    def end_line(self) -> None:
        text = clean_text("".join(self.buf))
        if text:
            first, *rest = text.split("\n")
            self.lines.extend([self.marker + first, *rest])
            self.marker = ""
        self.buf.clear()

    def flush(self) -> None:
        self.end_line()
        if self.lines:
            self.blocks.append(self.outline.block("\n".join(self.lines)))
        self.lines.clear()

    def paragraph_break(self) -> None:
        if self.nested:
            self.end_line()
        else:
            self.flush()

    def walk(self, el: Any) -> None:
        from bs4.element import NavigableString, PreformattedString, Tag

        for child in el.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, CDATA, doctype
                    self.buf.append(" ".join(str(child).split("\n")))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in _HTML_DROP or child.has_attr("hidden") or child.get("role") == "navigation":
                continue
            if m := _HTML_HEADING.match(name):
                self.flush()
                self.outline.heading(int(m.group(1)), child.get_text(" "))
            elif name == "br":
                self.buf.append("\n")
            elif name == "pre":
                self.flush()
                self.blocks.append(self.outline.block(child.get_text().strip("\n")))
            elif name == "tr":
                self.end_line()
                row = [" ".join(c.get_text(" ").split()) for c in child.find_all(["td", "th"], recursive=False)]
                self.buf.append(" | ".join(c for c in row if c))
                self.end_line()
            elif name == "li":
                self.end_line()
                self.marker = "- "
                self.walk(child)
                self.end_line()
                self.marker = ""
            elif name in _HTML_LINE:
                self.end_line()
                self.walk(child)
                self.end_line()
            elif name in _HTML_LIST:
                self.paragraph_break()
                self.nested += 1
                self.walk(child)
                self.nested -= 1
                self.paragraph_break()
            elif name in _HTML_PARAGRAPH:
                self.paragraph_break()
                self.walk(child)
                self.paragraph_break()
            else:  # inline: span, a, b, em, code, ...
                self.walk(child)


def parse_html(html: str) -> tuple[str, list[Block]]:
    """(title, blocks) of an HTML page, without scripts, styles, navigation and forms; headings become
    section titles. Uses `<main>` when the page has exactly one."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ") if soup.title else ""
    mains = soup.find_all("main")
    root = mains[0] if len(mains) == 1 else (soup.body or soup)
    if not title:
        h1 = root.find("h1")
        title = h1.get_text(" ") if h1 else ""
    walker = _HtmlWalker()
    walker.walk(root)
    walker.flush()
    return " ".join(title.split()), walker.blocks


def load_html(source: str | PurePath, data: bytes | None = None) -> Document:
    raw = read_source(source, data)
    declared = _META_CHARSET.search(raw[:4096])
    text = decode_text(source, raw, [declared.group(1).decode("ascii")] if declared else [])
    try:
        title, blocks = parse_html(text)
    except RecursionError as e:
        raise LoadError(source, "HTML nested too deeply (HTML 嵌套过深)") from e
    return finish(source, "html", title, blocks, raw)
