"""What every loader shares: the supported formats, `LoadError` and its reasons (English, then Chinese),
reading a file or an upload within the size limit, decoding text, and stable ids."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePath

from kefu.text import has_han, normalise

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


def corrupt(kind: str) -> str:
    return f"corrupt or not a real {kind} file (文件已损坏或不是有效的 {kind} 文件)"


def unsupported(suffix: str) -> str:
    if suffix in _SAVE_AS:
        target = _SAVE_AS[suffix]
        return f"unsupported file type {suffix}: save it as {target} (不支持的文件类型，请另存为 {target})"
    shown = suffix or "(no extension)"
    return f"unsupported file type {shown} (不支持的文件类型); supported: " + ", ".join(sorted(SUPPORTED_SUFFIXES))


def detect_lang(text: str) -> str:
    """'zh' when the text has any Han character, else 'en'."""
    return "zh" if has_han(text) else "en"


def stable_id(text: str, prefix: str = "faq") -> str:
    """An id that stays the same for the same text (case, width and spacing aside)."""
    norm = normalise(text)
    return f"{prefix}-{hashlib.sha1(norm.encode('utf-8')).hexdigest()[:12]}"


def read_source(source: str | PurePath, data: bytes | None) -> bytes:
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


def suffix_of(source: str | PurePath) -> str:
    return PurePath(str(source)).suffix.lower()


def stem_of(source: str | PurePath) -> str:
    return PurePath(str(source)).stem


def check_not_ole(source: str | PurePath, data: bytes) -> None:
    if data.startswith(_OLE_MAGIC):
        raise LoadError(source, PROTECTED_OFFICE)
