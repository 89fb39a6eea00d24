"""Wire types of the knowledge admin API (FaqX families as in the FastAPI template)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.http.validators import NO_NUL, NOT_BLANK, is_valid_unicode

_ITEM = {"type": "string", "maxLength": 2000, "pattern": NO_NUL}


class FaqBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The schema states what the validators below enforce: not blank, no NUL, items at most 2000 characters.
    question: str = Field(min_length=1, max_length=2000, json_schema_extra={"pattern": NOT_BLANK})
    answer: str = Field(min_length=1, max_length=20000, json_schema_extra={"pattern": NOT_BLANK})
    similar: list[str] = Field(default_factory=list, max_length=200, json_schema_extra={"items": _ITEM})
    category: str = Field(default="", max_length=64, json_schema_extra={"pattern": NO_NUL})
    tags: list[str] = Field(default_factory=list, max_length=50, json_schema_extra={"items": _ITEM})
    lang: str | None = Field(default=None, pattern=r"^(zh|en)$")

    @field_validator("question", "answer", "category")
    @classmethod
    def _text(cls, v: str) -> str:
        _check_chars(v)
        return v

    @field_validator("question", "answer")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator("similar", "tags")
    @classmethod
    def _items(cls, v: list[str]) -> list[str]:
        if any(len(x) > 2000 for x in v):
            raise ValueError("an item is longer than 2000 characters")
        for x in v:
            _check_chars(x)
        return [x for x in (s.strip() for s in v) if x]


def _check_chars(v: str) -> None:
    if "\x00" in v or not is_valid_unicode(v):
        raise ValueError("contains invalid characters (NUL or lone surrogates)")


class FaqUpsert(FaqBase):
    pass


class FaqPublic(FaqBase):
    model_config = ConfigDict(extra="ignore")
    key: str


class FaqList(BaseModel):
    items: list[FaqPublic]
    offset: int
    count: int


class DocumentPublic(BaseModel):
    id: int
    name: str
    title: str
    format: str
    chunks: int
    updated_at: str


class SearchHit(BaseModel):
    id: str
    kind: str
    title: str
    snippet: str
    score: float


class ImportFailure(BaseModel):
    file: str
    reason: str


class ImportedFilePublic(BaseModel):
    name: str
    kind: str
    faqs: int
    chunks: int


class ImportReportPublic(BaseModel):
    imported: list[ImportedFilePublic]
    failed: list[ImportFailure]
    faqs: int
    chunks: int
    seconds: float
