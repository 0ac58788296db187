"""Event contracts: one pydantic model per event type, joined in a union on `type`."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic_core import SchemaValidator, core_schema

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
MAX_COMMENT_BYTES = 2 * 1024
MAX_FUTURE_MS = 5 * 60 * 1000
# Below 2001-09-09 in ms: such a value is almost surely seconds, not milliseconds.
MIN_TS_MS = 1_000_000_000_000
MAX_TS_MS = 32_503_680_000_000  # year 3000


class Platform(StrEnum):
    douyin = "douyin"
    tiktok = "tiktok"
    taobao = "taobao"
    kuaishou = "kuaishou"
    wechat = "wechat"
    other = "other"


class Source(StrEnum):
    recommend = "recommend"
    search = "search"
    follow = "follow"
    ads = "ads"
    short_video = "short_video"
    private_domain = "private_domain"
    other = "other"


class Stage(StrEnum):
    traffic = "traffic"
    conversion = "conversion"
    retention = "retention"


class Phase(StrEnum):
    warmup = "warmup"
    live = "live"
    replay = "replay"


class ProductRole(StrEnum):
    """A product's role in the assortment plan (seed: 引流款 / 利润款 / 战略款, 3:5:2)."""

    traffic = "traffic"  # 引流款: draws viewers, thin margin
    profit = "profit"  # 利润款: carries the margin
    strategic = "strategic"  # 战略款: brand or new-line building


class OrderStatus(StrEnum):
    created = "created"
    paid = "paid"
    refunded = "refunded"


def _to_epoch_ms(value: Any) -> int:
    """Accept epoch milliseconds or ISO-8601 with a zone; return UTC epoch ms."""
    if type(value) is int and MIN_TS_MS <= value <= MAX_TS_MS:
        return value  # the common case first: this runs for every event
    if isinstance(value, bool):
        raise ValueError("ts must be epoch milliseconds or an ISO-8601 string, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("ts in epoch milliseconds must be a whole number")
        value = int(value)
    if isinstance(value, int):
        if value < MIN_TS_MS:
            raise ValueError(
                f"ts={value} is too small for epoch milliseconds (seconds given? multiply by 1000)"
            )
        if value > MAX_TS_MS:
            raise ValueError(f"ts={value} is beyond the year 3000")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"ts {value[:40]!r} is not ISO-8601") from None
        if parsed.tzinfo is None:
            raise ValueError(f"ts {value[:40]!r} has no time zone (add Z or +08:00)")
        return _to_epoch_ms(int(parsed.astimezone(UTC).timestamp() * 1000))
    raise ValueError("ts must be epoch milliseconds (integer) or an ISO-8601 string with a zone")


EpochMs = Annotated[int, BeforeValidator(_to_epoch_ms)]
# Ids reach Redis key names and hash fields. `{` and `}` would break a key's Cluster hash tag
# (room `a}:x` must never address another room's keys), control characters (newlines, NUL)
# break logs and line-based tools, and outer whitespace is almost always a producer bug. Anything
# else is allowed: `:`, inner spaces, CJK, emoji. Length is counted in characters.
ID_MAX_LENGTH = 128
ID_PATTERN = r"^[^\x00-\x20\x7f{}](?:[^\x00-\x1f\x7f{}]*[^\x00-\x20\x7f{}])?$"
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
PositiveQty = Annotated[int, Field(gt=0, le=1_000_000)]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False, le=1e12)]


class BaseEvent(BaseModel):
    """Fields every event carries."""

    # Unknown fields are ignored: they never reach a KPI and never fail a message.
    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=False)

    event_id: Id
    room_id: Id
    ts: EpochMs
    user_id: Id | None = None
    platform: Platform = Platform.other
    brand_id: Id | None = None
    schema_version: Literal[1] = 1  # SCHEMA_VERSION

    @field_validator("ts")
    @classmethod
    def _not_in_future(cls, ts: int, info: ValidationInfo) -> int:
        ctx = info.context
        now_ms = ctx.get("now_ms") if ctx else None
        if now_ms is None:
            now_ms = int(time.time() * 1000)
        if ts > now_ms + MAX_FUTURE_MS:
            raise ValueError(
                f"ts is {(ts - now_ms) / 1000:.0f}s in the future (limit {MAX_FUTURE_MS // 1000}s)"
            )
        return ts


# Room events ---------------------------------------------------------------


class RoomExposure(BaseEvent):
    type: Literal["room_exposure"] = "room_exposure"
    source: Source = Source.other


class Enter(BaseEvent):
    type: Literal["enter"] = "enter"
    source: Source = Source.other
    region: Annotated[str, Field(max_length=64)] | None = None
    # where the platform gives one, e.g. "18-23", "24-30", "31-40", "41-50", "50+"
    age_band: Annotated[str, Field(min_length=1, max_length=16)] | None = None


class Leave(BaseEvent):
    type: Literal["leave"] = "leave"
    watch_ms: Annotated[int, Field(ge=0, le=48 * 3600 * 1000)]


class Comment(BaseEvent):
    type: Literal["comment"] = "comment"
    text: str

    @field_validator("text")
    @classmethod
    def _text_limit(cls, text: str) -> str:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_COMMENT_BYTES:
            raise ValueError(f"comment text is {size} bytes; the limit is {MAX_COMMENT_BYTES}")
        return text


class Like(BaseEvent):
    type: Literal["like"] = "like"
    count: PositiveQty = 1


class Share(BaseEvent):
    type: Literal["share"] = "share"


class Follow(BaseEvent):
    type: Literal["follow"] = "follow"


class PrivateDomainJoin(BaseEvent):
    type: Literal["private_domain_join"] = "private_domain_join"
    channel: Annotated[str, Field(max_length=32)] = "wecom"


class ProductExposure(BaseEvent):
    type: Literal["product_exposure"] = "product_exposure"
    product_id: Id


class ProductClick(BaseEvent):
    type: Literal["product_click"] = "product_click"
    product_id: Id


class CartAdd(BaseEvent):
    type: Literal["cart_add"] = "cart_add"
    product_id: Id
    quantity: PositiveQty = 1


class Order(BaseEvent):
    type: Literal["order"] = "order"
    order_id: Id
    product_id: Id
    quantity: PositiveQty = 1
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    status: OrderStatus = OrderStatus.paid

    @property
    def amount_cents(self) -> int:
        return round(self.amount * 100)


# Control events ------------------------------------------------------------


class BroadcastStart(BaseEvent):
    type: Literal["broadcast_start"] = "broadcast_start"
    title: Annotated[str, Field(max_length=256)] | None = None


class BroadcastEnd(BaseEvent):
    type: Literal["broadcast_end"] = "broadcast_end"


class StageChange(BaseEvent):
    type: Literal["stage_change"] = "stage_change"
    stage: Stage


class PhaseChange(BaseEvent):
    type: Literal["phase_change"] = "phase_change"
    phase: Phase


class ProductPinned(BaseEvent):
    type: Literal["product_pinned"] = "product_pinned"
    product_id: Id
    product_name: Annotated[str, Field(min_length=1, max_length=256)]
    role: ProductRole | None = None


class AdSpend(BaseEvent):
    type: Literal["ad_spend"] = "ad_spend"
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    audience_package: Annotated[str, Field(min_length=1, max_length=128)]


class HostChange(BaseEvent):
    """A host (or AI virtual host) takes over the room from this moment."""

    type: Literal["host_change"] = "host_change"
    host_id: Id
    host_name: Annotated[str, Field(min_length=1, max_length=64)]


class StockUpdate(BaseEvent):
    type: Literal["stock_update"] = "stock_update"
    product_id: Id
    stock: Annotated[int, Field(ge=0)]


ROOM_EVENTS: tuple[type[BaseEvent], ...] = (
    RoomExposure, Enter, Leave, Comment, Like, Share, Follow, PrivateDomainJoin,
    ProductExposure, ProductClick, CartAdd, Order,
)
CONTROL_EVENTS: tuple[type[BaseEvent], ...] = (
    BroadcastStart, BroadcastEnd, StageChange, PhaseChange, ProductPinned, AdSpend, StockUpdate,
    HostChange,
)
ALL_EVENTS = ROOM_EVENTS + CONTROL_EVENTS

# `Union[ALL_EVENTS]` spreads the runtime tuple into a union: mypy cannot follow a union built at
# runtime, and `X | Y` has no way to spread a tuple.
Event = Annotated[Union[ALL_EVENTS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007 - tuple spread, see above
EVENT_TYPES: dict[str, type[BaseEvent]] = {
    m.model_fields["type"].default: m for m in ALL_EVENTS
}
CONTROL_TYPES = frozenset(m.model_fields["type"].default for m in CONTROL_EVENTS)

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)
EVENT_LIST_ADAPTER: TypeAdapter[list[Any]] = TypeAdapter(list[Event])


def _fields_only(model: dict[str, Any]) -> core_schema.TypedDictSchema:
    """A model's core schema as a typed-dict schema: the very same field schemas (constraints,
    defaults, validators), returning the dict a model instance holds as its `__dict__`."""
    if model.get("type") != "model" or model["schema"].get("type") != "model-fields":
        raise TypeError(f"unexpected core schema shape {model.get('type')!r} (pydantic changed?)")
    fields = model["schema"]["fields"]
    return core_schema.typed_dict_schema(
        {name: core_schema.typed_dict_field(f["schema"], required=f["schema"]["type"] != "default")
         for name, f in fields.items()},
        extra_behavior="ignore")


def _field_dicts(adapter: TypeAdapter[list[Any]]) -> SchemaValidator:
    union = dict(adapter.core_schema["items_schema"])
    union["choices"] = {tag: _fields_only(m) for tag, m in union["choices"].items()}
    return SchemaValidator(core_schema.list_schema(union))


# EVENT_LIST_ADAPTER's validation without building model instances, for the KPI worker's hot
# path (a model instance costs as much as validating its fields). Each item equals
# `event.__dict__` of the model EVENT_LIST_ADAPTER returns; derived from the same core schema,
# so the two cannot drift (tests/schemas/test_event_fields.py checks that they agree).
EVENT_FIELDS_LIST_VALIDATOR = _field_dicts(EVENT_LIST_ADAPTER)
