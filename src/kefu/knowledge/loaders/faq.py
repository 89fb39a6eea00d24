"""FAQ tables (CSV/TSV, JSON, XLSX) as `FaqRecord`s: a header row names the columns, in English or Chinese
(question/问题, answer/答案, similar/相似问题, ...); bad rows are reported together, with their row numbers."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import PurePath
from typing import Any

from kefu.knowledge.loaders.base import (
    EMPTY_FILE,
    LoadError,
    check_not_ole,
    corrupt,
    decode_text,
    detect_lang,
    read_source,
    stable_id,
    suffix_of,
    unsupported,
)
from kefu.store.knowledge import FaqRecord

__all__ = ["load_faq", "load_faq_csv", "load_faq_json", "load_faq_xlsx"]

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
    text = decode_text(source, read_source(source, data))
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    try:
        return _table_rows(source, iter(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)))
    except csv.Error as e:
        raise LoadError(source, f"malformed CSV: {e} (CSV 格式错误)") from e


def load_faq_json(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord]:
    """A JSON list of {id, question, answer, similar, category, tags} objects, or {"faqs": [...]}."""
    text = decode_text(source, read_source(source, data))
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
    raw = read_source(source, data)
    check_not_ole(source, raw)
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as e:
        raise LoadError(source, corrupt("XLSX")) from e
    try:
        if not wb.worksheets:
            raise LoadError(source, EMPTY_FILE)
        return _table_rows(source, (list(r) for r in wb.worksheets[0].iter_rows(values_only=True)))
    except LoadError:
        raise
    except Exception as e:
        raise LoadError(source, corrupt("XLSX")) from e
    finally:
        wb.close()


def load_faq(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord]:
    """An FAQ table by its extension: .csv, .json or .xlsx."""
    suffix = suffix_of(source)
    if suffix == ".csv":
        return load_faq_csv(source, data)
    if suffix == ".json":
        return load_faq_json(source, data)
    if suffix == ".xlsx":
        return load_faq_xlsx(source, data)
    raise LoadError(source, unsupported(suffix))
