"""List bot profiles and change their policy and access settings; every change is in the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from kefu.admin.deps import BotsAdmin, KbReader
from kefu.http.deps import JsonBody, ServicesDep
from kefu.http.errors import ApiError, error_responses
from kefu.http.validators import ID_PATTERN
from kefu.store.repo import BotView, UnknownTenant

router = APIRouter(prefix="/admin/bots", tags=["admin: bots"], responses=error_responses(400, 401, 403, 404, 422, 429))


def _no_bool(v: object) -> object:
    # JSON true/false is not a number here (pydantic's lax mode would read it as 1/0)
    if isinstance(v, bool):
        raise ValueError("a number, not true/false")
    return v


def _whole(v: object) -> object:
    # JSON Schema counts 5.0 as an integer; pydantic's lax int would too, but also "5" and true
    if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, float) and not v.is_integer()):
        raise ValueError("a whole number")
    return int(v)


Share = Annotated[float, Field(ge=0, le=1), BeforeValidator(_no_bool)]
PerMinute = Annotated[int, Field(ge=0, le=1_000_000), BeforeValidator(_whole)]
ORIGIN = r"^(\*|self|https?://[A-Za-z0-9.-]{1,253}(:\d{1,5})?)$"


class RateLimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: PerMinute | None = None
    ip: PerMinute | None = None
    api_key: PerMinute | None = None


class BotUpdate(BaseModel):
    """Fields left out stay as they are; null where allowed returns a field to the settings' default."""

    model_config = ConfigDict(extra="forbid")
    generation: Literal["on", "off", "auto", "always"] | None = None
    confidence_threshold: Share | None = None
    clarify_threshold: Share | None = None
    service_hours: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
    handoff_phone: str | None = Field(None, max_length=64, pattern=r"^[0-9+() -]{3,64}$")
    allow_anonymous: StrictBool | None = None
    allowed_origins: list[Annotated[str, Field(max_length=300, pattern=ORIGIN)]] | None = Field(None, max_length=100)
    rate_limits: RateLimitsIn | None = None


class BotPublic(BaseModel):
    name: str
    model: str | None
    generation: str | None
    confidence_threshold: float
    clarify_threshold: float | None
    service_hours: str | None
    handoff_phone: str | None
    allow_anonymous: bool
    allowed_origins: list[str] | None
    rate_limits: dict[str, int] | None


def _public(b: BotView) -> dict:
    return {
        **{f: getattr(b, f) for f in BotPublic.model_fields if f not in ("allowed_origins",)},
        "allowed_origins": list(b.allowed_origins) if b.allowed_origins is not None else None,
    }


@router.get("", response_model=list[BotPublic])
async def list_bots(who: KbReader, services: ServicesDep) -> list:
    return [_public(b) for b in await services.store.run(services.store.list_bots, who.tenant)]


@router.patch("/{name}", response_model=BotPublic, dependencies=[JsonBody], responses=error_responses(413, 415))
async def update_bot(
    name: Annotated[str, Path(pattern=ID_PATTERN)], body: BotUpdate, who: BotsAdmin, services: ServicesDep
) -> dict:
    fields = body.model_dump(exclude_unset=True)
    if "rate_limits" in fields and fields["rate_limits"] is not None:
        fields["rate_limits"] = {k: v for k, v in fields["rate_limits"].items() if v is not None}
    if "allow_anonymous" in fields and fields["allow_anonymous"] is None:
        fields["allow_anonymous"] = True
    if fields.get("confidence_threshold", 0.85) is None:
        fields["confidence_threshold"] = 0.85
    try:
        bot = await services.store.run(services.store.update_bot, who.tenant, name, who.actor, **fields)
    except UnknownTenant:
        raise ApiError(404, "not_found") from None
    except ValueError as e:
        raise ApiError(422, "invalid_request", str(e)[:300]) from None
    return _public(bot)
