"""Checks on ids and message text that every route applies the same way."""

from __future__ import annotations

import re

from kefu.http.errors import ApiError
from kefu.ops.settings import Settings

# Tenant, service-type, customer and session ids: what the header/field schemas declare as their pattern.
ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
# The tenant and service-type headers: an id, or empty for the default.
HEADER_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{0,64}$"
# fullmatch: `$` alone would let a trailing newline through, which the schema's pattern does not.
_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))

# Schema patterns for text the checks refuse: with a NUL (the database cannot store it), or blank.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
# A customer message as the OpenAPI document states it; check_text enforces it (max_message_chars is 4000
# unless the operator changed it).
TEXT_SCHEMA: dict = {"minLength": 1, "maxLength": 4000, "pattern": NOT_BLANK}


def is_valid_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def valid_id(value: str | None, what: str) -> str | None:
    if value is not None and not is_valid_id(value):
        raise ApiError(422, "invalid_request", f"{what} 格式错误 / Invalid {what}")
    return value


def check_text(text: str, settings: Settings) -> str:
    max_chars = settings.max_message_chars
    if not text.strip():
        raise ApiError(422, "empty_text")
    if len(text) > max_chars:
        raise ApiError(
            413,
            "text_too_long",
            f"消息过长（最多 {max_chars} 字） / Message too long (max {max_chars} characters)",
        )
    if "\x00" in text or not is_valid_unicode(text):
        raise ApiError(422, "invalid_request", "消息含有非法字符 / The message contains invalid characters")
    return text


def is_valid_unicode(text: str) -> bool:
    """False for lone surrogates (JSON allows "\\ud800"; UTF-8 and the database do not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
