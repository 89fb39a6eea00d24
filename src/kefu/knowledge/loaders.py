"""Loaders: FAQ tables (CSV, JSON, XLSX) become `FaqRecord`s; documents (Markdown, HTML, PDF, DOCX, TXT)
become a `Document` of text blocks, each under its heading path.

Every failure is a `LoadError` naming the file and saying why in plain words (English, then Chinese):
``退货政策.pdf: encrypted PDF (加密的 PDF)``. `load_many` imports what it can and reports the rest, so one
bad file never stops a batch.

Each loader takes a path, or a name plus the file's bytes (an upload): ``load_document("a.pdf", data)``.
The parsing libraries are imported when a file of their kind is loaded, so importing this module is cheap.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from kefu.store.knowledge import FaqRecord

MAX_BYTES = 50 * 1024 * 1024
FAQ_SUFFIXES = frozenset({".csv", ".json", ".xlsx"})
DOCUMENT_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "txt",
    ".text": "txt",
}
SUPPORTED_SUFFIXES = FAQ_SUFFIXES | frozenset(DOCUMENT_FORMATS)
_SAVE_AS = {".xls": ".xlsx", ".doc": ".docx", ".wps": ".docx", ".et": ".xlsx", ".rtf": ".docx"}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_CHARS = "\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK_CHARS}])[ \t]+(?=[{_CJK_CHARS}])")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls, and password-protected Office files


class LoadError(Exception):
    """A file that could not be imported: `path` (as given) and a `reason` a person can act on."""

    def __init__(self, path: str | PurePath, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{PurePath(self.path).name}: {reason}")


# Reasons, English first and Chinese in brackets, so an admin of either language can act on them.
EMPTY_FILE = "empty file (文件为空)"
NO_TEXT = "no text found (没有可提取的文字)"
ENCRYPTED_PDF = "encrypted PDF (加密的 PDF)"
BAD_ENCODING = "cannot decode the text: not UTF-8 or GB18030 (无法识别文字编码，请另存为 UTF-8)"
BINARY_TEXT = "binary content, not a text file (不是文本文件)"
NOT_FOUND = "file not found (文件不存在)"
PROTECTED_OFFICE = (
    "password-protected or legacy binary Office file (受密码保护或旧版 Office 格式，请另存为 .docx/.xlsx)"
)


def _corrupt(kind: str) -> str:
    return f"corrupt or not a real {kind} file (文件已损坏或不是有效的 {kind} 文件)"


def _unsupported(suffix: str) -> str:
    if suffix in _SAVE_AS:
        target = _SAVE_AS[suffix]
        return f"unsupported file type {suffix}: save it as {target} (不支持的文件类型，请另存为 {target})"
    shown = suffix or "(no extension)"
    return f"unsupported file type {shown} (不支持的文件类型); supported: " + ", ".join(sorted(SUPPORTED_SUFFIXES))


# ---------------------------------------------------------------------------------------------- shared


def detect_lang(text: str) -> str:
    """'zh' when the text has any CJK character, else 'en'."""
    return "zh" if _CJK.search(text) else "en"


def stable_id(text: str, prefix: str = "faq") -> str:
    """An id that stays the same for the same text (case, width and spacing aside)."""
    norm = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return f"{prefix}-{hashlib.sha1(norm.encode('utf-8')).hexdigest()[:12]}"


def _read(source: str | PurePath, data: bytes | None) -> bytes:
    if data is None:
        p = Path(source)
        if not p.exists():
            raise LoadError(source, NOT_FOUND)
        if not p.is_file():
            raise LoadError(source, "not a file (不是文件)")
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise LoadError(source, _too_large(size))
        try:
            data = p.read_bytes()
        except OSError as e:
            raise LoadError(source, f"cannot read the file: {e.strerror} (无法读取文件)") from e
    if len(data) > MAX_BYTES:
        raise LoadError(source, _too_large(len(data)))
    if not data.strip():
        raise LoadError(source, EMPTY_FILE)
    return data


def _too_large(size: int) -> str:
    return f"file too large: {size / 1048576:.1f} MB > {MAX_BYTES // 1048576} MB (文件过大)"


def decode_text(source: str | PurePath, data: bytes, extra_encodings: Iterable[str] = ()) -> str:
    """Text bytes as str: a BOM decides, else UTF-8, then `extra_encodings`, then GB18030."""
    text: str | None = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    if text is None:
        for enc in ("utf-8-sig", *extra_encodings, "gb18030"):
            try:
                text = data.decode(enc)
                break
            except (UnicodeDecodeError, LookupError):
                continue
    if text is None:
        raise LoadError(source, BAD_ENCODING)
    if "\x00" in text:
        raise LoadError(source, BINARY_TEXT)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError(source, EMPTY_FILE)
    return text


def _suffix(source: str | PurePath) -> str:
    return PurePath(str(source)).suffix.lower()


def _stem(source: str | PurePath) -> str:
    return PurePath(str(source)).stem


def _check_not_ole(source: str | PurePath, data: bytes) -> None:
    if data.startswith(_OLE_MAGIC):
        raise LoadError(source, PROTECTED_OFFICE)


# ------------------------------------------------------------------------------------------ FAQ tables

_FAQ_ALIASES = {
    "id": ("id", "key", "faqid", "编号", "序号", "问题编号", "问题id", "编码"),
    "question": ("question", "q", "标准问题", "标准问", "问题", "问法"),
    "answer": ("answer", "a", "reply", "response", "答案", "标准答案", "回答", "回复", "答复"),
    "similar": (
        "similar",
        "similars",
        "similarquestions",
        "alternatives",
        "相似问题",
        "相似问",
        "相似问法",
        "扩展问题",
        "扩展问",
        "同义问法",
    ),
    "category": ("category", "分类", "类别", "类目"),
    "tags": ("tags", "tag", "keywords", "标签", "关键词"),
    "lang": ("lang", "language", "语言"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in _FAQ_ALIASES.items() for alias in aliases}
_REQUIRED = ("question", "answer")
_ZH_FIELD = {"question": "问题", "answer": "答案"}
_SIMILAR_SEP = re.compile(r"[|｜\n]")
_TAG_SEP = re.compile(r"[|｜\n,，、;；]")


def _field_of(header: object) -> str | None:
    key = re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", str(header or "")).lower().lstrip("\ufeff"))
    return _ALIAS_TO_FIELD.get(key)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _split(value: object, sep: re.Pattern[str]) -> list[str]:
    items = [_cell(v) for v in value] if isinstance(value, list | tuple) else sep.split(_cell(value))
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def _header_map(source: str | PurePath, header: list[object]) -> dict[str, int]:
    """Column index per FAQ field; a LoadError when a required column is missing."""
    columns: dict[str, int] = {}
    for i, h in enumerate(header):
        name = _field_of(h)
        if name is not None and name not in columns:
            columns[name] = i
    missing = [f for f in _REQUIRED if f not in columns]
    if missing:
        found = ", ".join(_cell(h) for h in header if _cell(h)) or "none"
        raise LoadError(
            source,
            f"missing required column(s): {', '.join(missing)} "
            f"(缺少必需的列：{'、'.join(_ZH_FIELD[m] for m in missing)}); columns found: {found}",
        )
    return columns


def _records(source: str | PurePath, rows: Iterable[tuple[str, dict[str, Any]]]) -> list[FaqRecord]:
    """FaqRecords from (row label, {field: value}) pairs; blank rows are skipped, bad rows reported together."""
    out: list[FaqRecord] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for label, row in rows:
        question, answer = _cell(row.get("question")), _cell(row.get("answer"))
        if not question and not answer:
            continue
        if not question or not answer:
            empty = "question" if not question else "answer"
            problems.append(f"{label}: empty {empty} ({_ZH_FIELD[empty]}为空)")
            continue
        key = _cell(row.get("id")) or stable_id(question)
        if key in seen:
            problems.append(f"{label}: duplicate id {key!r}, first at {seen[key]} (编号重复)")
            continue
        seen[key] = label
        lang = _cell(row.get("lang")).lower()
        similar = [s for s in _split(row.get("similar"), _SIMILAR_SEP) if s != question]
        out.append(
            FaqRecord(
                key=key,
                question=question,
                answer=answer,
                lang=lang if lang in ("zh", "en") else detect_lang(question + answer),
                category=_cell(row.get("category")),
                similar=similar,
                tags=_split(row.get("tags"), _TAG_SEP),
            )
        )
    if problems:
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        raise LoadError(source, "; ".join(problems[:5]) + more)
    if not out:
        raise LoadError(source, "no FAQ entries found (没有找到问答条目)")
    return out


def _table_rows(source: str | PurePath, table: Iterator[list[object]], first_row: int = 1) -> list[FaqRecord]:
    """A header row then data rows (spreadsheet numbering: the header is row `first_row`)."""
    numbered = enumerate(table, start=first_row)
    header_row, header = next(((n, list(row)) for n, row in numbered if any(_cell(v) for v in row)), (0, None))
    if header is None:
        raise LoadError(source, EMPTY_FILE)
    columns = _header_map(source, header)

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for i, row in enumerate(table, start=header_row + 1):
            yield f"row {i}", {f: (row[c] if c < len(row) else None) for f, c in columns.items()}

    return _records(source, rows())


def load_faq_csv(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord]:
    """A CSV (or TSV/semicolon) table with a header row; Chinese headers (问题, 答案, ...) work too."""
    text = decode_text(source, _read(source, data))
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    try:
        return _table_rows(source, iter(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)))
    except csv.Error as e:
        raise LoadError(source, f"malformed CSV: {e} (CSV 格式错误)") from e


def load_faq_json(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord]:
    """A JSON list of {id, question, answer, similar, category, tags} objects, or {"faqs": [...]}."""
    text = decode_text(source, _read(source, data))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise LoadError(source, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg} (JSON 格式错误)") from e
    if isinstance(raw, dict):
        items = next((raw[k] for k in ("faqs", "faq", "items", "data") if isinstance(raw.get(k), list)), None)
    else:
        items = raw
    if not isinstance(items, list):
        raise LoadError(source, 'expected a list of FAQ objects or {"faqs": [...]} (JSON 结构不对)')

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for i, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise LoadError(source, f"item {i}: expected an object, got {type(item).__name__} (条目不是对象)")
            mapped: dict[str, Any] = {}
            for k, v in item.items():
                name = _field_of(k)
                if name is not None and name not in mapped:
                    mapped[name] = v
            yield f"item {i}", mapped

    return _records(source, rows())


def load_faq_xlsx(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord]:
    """The first sheet of an Excel workbook, header row first."""
    raw = _read(source, data)
    _check_not_ole(source, raw)
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as e:
        raise LoadError(source, _corrupt("XLSX")) from e
    try:
        if not wb.worksheets:
            raise LoadError(source, EMPTY_FILE)
        return _table_rows(source, (list(r) for r in wb.worksheets[0].iter_rows(values_only=True)))
    except LoadError:
        raise
    except Exception as e:
        raise LoadError(source, _corrupt("XLSX")) from e
    finally:
        wb.close()


def load_faq(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord]:
    """An FAQ table by its extension: .csv, .json or .xlsx."""
    suffix = _suffix(source)
    if suffix == ".csv":
        return load_faq_csv(source, data)
    if suffix == ".json":
        return load_faq_json(source, data)
    if suffix == ".xlsx":
        return load_faq_xlsx(source, data)
    raise LoadError(source, _unsupported(suffix))


# ------------------------------------------------------------------------------------------- documents


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


class _Outline:
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


def _clean(text: str) -> str:
    """Trim each line, drop spaces between CJK characters (left by line wraps), drop blank lines."""
    lines = (_CJK_GAP.sub("", " ".join(line.split())) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


_SOFT = "\x1f"  # a soft line break: a space between words, nothing between CJK characters
_SOFT_RUN = re.compile(r"[ \t]*\x1f[ \t]*")


def _soft_joins(text: str) -> str:
    def join(m: re.Match[str]) -> str:
        s, a, b = m.string, m.start(), m.end()
        before = s[a - 1] if a > 0 else ""
        after = s[b] if b < len(s) else ""
        if re.match(f"[{_CJK_CHARS}]", before or " ") or re.match(f"[{_CJK_CHARS}]", after or " "):
            return ""
        return " " if before and after else ""

    return _SOFT_RUN.sub(join, text)


def _finish(source: str | PurePath, fmt: str, title: str, blocks: list[Block], raw: bytes) -> Document:
    blocks = [b for b in blocks if b.text.strip()]
    if not blocks:
        raise LoadError(source, NO_TEXT)
    return Document(
        source=PurePath(str(source)).name,
        title=" ".join(title.split()) or _stem(source),
        format=fmt,
        blocks=blocks,
        checksum=hashlib.sha256(raw).hexdigest(),
    )


# Markdown ----------------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.S)


def _md_inline(token: Any) -> str:
    out: list[str] = []
    for c in token.children or ():
        if c.type in ("text", "code_inline", "image"):
            out.append(c.content)
        elif c.type == "softbreak":
            out.append(_SOFT)
        elif c.type == "hardbreak":
            out.append("\n")
    return _soft_joins("".join(out))


def parse_markdown(text: str) -> tuple[str, list[Block]]:
    """(title, blocks) of Markdown text: a paragraph, list, table or code block per block."""
    from markdown_it import MarkdownIt

    title = ""
    fm = _FRONT_MATTER.match(text)
    if fm:
        m = re.search(r"^title:\s*['\"]?(.*?)['\"]?\s*$", fm.group(1), re.M)
        title = m.group(1) if m else ""
        text = text[fm.end() :]
    outline = _Outline()
    blocks: list[Block] = []
    lines: list[str] = []
    lists: list[list[Any]] = []  # [marker kind, next number]
    pending_marker = ""
    heading_level = 0
    cells: list[str] | None = None

    def flush() -> None:
        body = _clean("\n".join(lines))
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
    raw = _read(source, data)
    title, blocks = parse_markdown(decode_text(source, raw))
    return _finish(source, "markdown", title, blocks, raw)


# HTML --------------------------------------------------------------------------------------------------

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
        self.outline = _Outline()
        self.blocks: list[Block] = []
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.nested = 0  # depth inside lists and tables, where paragraphs are lines of one block
        self.marker = ""  # "- " for a list item whose first line is still to come

    def end_line(self) -> None:
        text = _clean("".join(self.buf))
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
    raw = _read(source, data)
    declared = _META_CHARSET.search(raw[:4096])
    text = decode_text(source, raw, [declared.group(1).decode("ascii")] if declared else [])
    try:
        title, blocks = parse_html(text)
    except RecursionError as e:
        raise LoadError(source, "HTML nested too deeply (HTML 嵌套过深)") from e
    return _finish(source, "html", title, blocks, raw)


# PDF ---------------------------------------------------------------------------------------------------

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
            current += _SOFT + line
    if current:
        paragraphs.append(current)
    return [p for p in (_clean(_soft_joins(p)) for p in paragraphs) if p]


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
    raw = _read(source, data)
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
        raise LoadError(source, _corrupt("PDF")) from e

    title = ""
    try:
        meta = reader.metadata
        title = str(meta.title or "") if meta else ""
    except Exception:
        title = ""
    marks = _pdf_outline(reader)
    outline = _Outline()
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
        raise LoadError(source, _corrupt("PDF"))
    if not blocks:
        raise LoadError(source, "no extractable text: a scanned PDF needs OCR first (没有可提取的文字，可能是扫描件)")
    return _finish(source, "pdf", title, blocks, raw)


# DOCX --------------------------------------------------------------------------------------------------

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
    raw = _read(source, data)
    _check_not_ole(source, raw)
    try:
        import docx
        from docx.table import Table

        doc = docx.Document(io.BytesIO(raw))
        title = doc.core_properties.title or ""
        items = list(doc.iter_inner_content())
    except Exception as e:
        raise LoadError(source, _corrupt("DOCX")) from e

    outline = _Outline()
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
        text = _clean(item.text)
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
    return _finish(source, "docx", title, blocks, raw)


# TXT ---------------------------------------------------------------------------------------------------


def load_txt(source: str | PurePath, data: bytes | None = None) -> Document:
    """Plain text (UTF-8, UTF-16 with BOM or GB18030); paragraphs are separated by blank lines."""
    raw = _read(source, data)
    text = decode_text(source, raw)
    blocks = [Block(p) for p in (_clean(p) for p in re.split(r"\n\s*\n", text)) if p]
    return _finish(source, "txt", "", blocks, raw)


_DOCUMENT_LOADERS = {"markdown": load_markdown, "html": load_html, "pdf": load_pdf, "docx": load_docx, "txt": load_txt}


def load_document(source: str | PurePath, data: bytes | None = None) -> Document:
    """A document by its extension: .md, .markdown, .html, .htm, .pdf, .docx, .txt."""
    suffix = _suffix(source)
    fmt = DOCUMENT_FORMATS.get(suffix)
    if fmt is None:
        raise LoadError(source, _unsupported(suffix))
    return _DOCUMENT_LOADERS[fmt](source, data)


# ----------------------------------------------------------------------------------------------- batch


@dataclass(frozen=True)
class Failure:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{PurePath(self.path).name}: {self.reason}"


@dataclass
class ImportReport:
    faqs: list[FaqRecord] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)  # paths (or names) that imported
    failed: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        head = (
            f"{len(self.loaded)} file(s) imported: {len(self.faqs)} FAQ entries, {len(self.documents)} documents; "
            f"{len(self.failed)} failed"
        )
        return "\n".join([head, *(f"  {f}" for f in self.failed)])


Source = str | PurePath | tuple[str, bytes]


def load_path(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord] | Document:
    """An FAQ table (.csv, .json, .xlsx) as FaqRecords, anything else supported as a Document."""
    if _suffix(source) in FAQ_SUFFIXES:
        return load_faq(source, data)
    return load_document(source, data)


def load_many(sources: Iterable[Source]) -> ImportReport:
    """Import every file it can; each failure is listed with its reason and never stops the batch.
    A source is a path, or a (name, bytes) pair for an upload."""
    report = ImportReport()
    for src in sources:
        name, data = (src[0], src[1]) if isinstance(src, tuple) else (src, None)
        try:
            result = load_path(name, data)
        except LoadError as e:
            report.failed.append(Failure(str(name), e.reason))
            continue
        except Exception as e:  # a parser's own bug must not stop the batch either
            report.failed.append(Failure(str(name), f"unexpected error: {type(e).__name__}: {e} (导入出错)"))
            continue
        if isinstance(result, Document):
            report.documents.append(result)
        else:
            report.faqs.extend(result)
        report.loaded.append(str(name))
    return report
