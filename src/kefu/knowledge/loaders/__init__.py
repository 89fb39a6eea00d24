"""Loaders: FAQ tables (CSV, JSON, XLSX) become `FaqRecord`s; documents (Markdown, HTML, PDF, DOCX, TXT)
become a `Document` of text blocks, each under its heading path.

Every failure is a `LoadError` naming the file and saying why in plain words (English, then Chinese):
``退货政策.pdf: encrypted PDF (加密的 PDF)``. A batch of files is imported by `kefu.knowledge.importer`,
which reports each failure and goes on.

Each loader takes a path, or a name plus the file's bytes (an upload): ``load_document("a.pdf", data)``.
The parsing libraries are imported when a file of their kind is loaded, so importing this package is cheap.

- `base`: formats, `LoadError` and its reasons, reading and decoding, `detect_lang`, `stable_id`.
- `faq`: the FAQ tables. `document`: `Document`, `Block`, the shared cleaning, plain text.
- `markdown`, `html`, `pdf`, `docx`: one module per document format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from kefu.knowledge.loaders.base import (
    DOCUMENT_FORMATS,
    FAQ_SUFFIXES,
    MAX_BYTES,
    SUPPORTED_SUFFIXES,
    LoadError,
    decode_text,
    detect_lang,
    stable_id,
    suffix_of,
    unsupported,
)
from kefu.knowledge.loaders.document import Block, Document, load_txt
from kefu.knowledge.loaders.docx import load_docx
from kefu.knowledge.loaders.faq import load_faq, load_faq_csv, load_faq_json, load_faq_xlsx
from kefu.knowledge.loaders.html import load_html, parse_html
from kefu.knowledge.loaders.markdown import load_markdown, parse_markdown
from kefu.knowledge.loaders.pdf import load_pdf
from kefu.store.knowledge import FaqRecord

__all__ = [
    "DOCUMENT_FORMATS",
    "DOCUMENT_LOADERS",
    "FAQ_SUFFIXES",
    "MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "Block",
    "Document",
    "Failure",
    "LoadError",
    "Source",
    "decode_text",
    "detect_lang",
    "load_document",
    "load_docx",
    "load_faq",
    "load_faq_csv",
    "load_faq_json",
    "load_faq_xlsx",
    "load_html",
    "load_markdown",
    "load_path",
    "load_pdf",
    "load_txt",
    "parse_html",
    "parse_markdown",
    "stable_id",
]

DOCUMENT_LOADERS = {"markdown": load_markdown, "html": load_html, "pdf": load_pdf, "docx": load_docx, "txt": load_txt}


def load_document(source: str | PurePath, data: bytes | None = None) -> Document:
    """A document by its extension: .md, .markdown, .html, .htm, .pdf, .docx, .txt."""
    suffix = suffix_of(source)
    fmt = DOCUMENT_FORMATS.get(suffix)
    if fmt is None:
        raise LoadError(source, unsupported(suffix))
    return DOCUMENT_LOADERS[fmt](source, data)


@dataclass(frozen=True)
class Failure:
    """A file that could not be imported, and why (a `LoadError`'s reason, or what else went wrong)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{PurePath(self.path).name}: {self.reason}"


Source = str | PurePath | tuple[str, bytes]


def load_path(source: str | PurePath, data: bytes | None = None) -> list[FaqRecord] | Document:
    """An FAQ table (.csv, .json, .xlsx) as FaqRecords, anything else supported as a Document."""
    if suffix_of(source) in FAQ_SUFFIXES:
        return load_faq(source, data)
    return load_document(source, data)
