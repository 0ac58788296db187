"""The KPI read side the alert engine needs; the KPI stores of streams satisfy it structurally."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import (
    TYPE_CHECKING,
    Any,
    NamedTuple,
    Protocol,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

from schemas.kpis import ProductSnapshot, RoomSnapshot, RoomState, SourceSnapshot

if TYPE_CHECKING:  # annotations only (postponed): no runtime dependency on typing_extensions
    from typing_extensions import TypeIs

T = TypeVar("T")
MaybeAwaitable: TypeAlias = T | Awaitable[T]


@runtime_checkable
class KpiReader(Protocol):
    """Read-only KPI access; `now_ms` is the stream-clock end of the window (None = newest).

    A store may implement the methods plainly (in-memory) or as coroutines (Redis): the
    evaluator awaits whatever comes back, so both kinds fit.
    """

    def rooms(self) -> MaybeAwaitable[list[RoomState]]: ...

    def room_state(self, room_id: str) -> MaybeAwaitable[RoomState | None]: ...

    def room_kpis(
        self, room_id: str, window: str, now_ms: int | None = None
    ) -> MaybeAwaitable[RoomSnapshot]: ...

    def product_kpis(
        self, room_id: str, window: str, now_ms: int | None = None
    ) -> MaybeAwaitable[list[ProductSnapshot]]: ...

    def source_kpis(
        self, room_id: str, window: str, now_ms: int | None = None
    ) -> MaybeAwaitable[list[SourceSnapshot]]: ...

    def stream_clock_ms(self) -> MaybeAwaitable[int | None]: ...


class ReadNeed(NamedTuple):
    """What one window read is for: these KPIs (None = every KPI) and, for per-product reads,
    these products (None = the store's top N)."""

    kpis: frozenset[str] | None = None
    products: frozenset[str] | None = None


ReadRequest = tuple[str, str, int]  # (per: room | product | source, window, now_ms)


@runtime_checkable
class BatchReader(Protocol):
    """Optional: every window several rooms need, in a few round trips in all
    (streams.kpi.roomread.RoomWindowReader).

    Per room, in order: its state (None = the room is gone) and, per request, rows with the
    attributes of what the KpiReader method of that level returns (`kpis`, `product_id`,
    `product_name`, `source`), holding at least the KPIs the request names.
    """

    async def room_ids(self) -> list[str]:
        """Every room to cover, most recently active first if the store knows."""

    async def states(self, ids: list[str]) -> tuple[list[RoomState | None], Any]:
        """The rooms' states (None: gone), and a token that spares `read_many` reading them."""

    async def read_many(self, rooms: list[tuple[str, dict[ReadRequest, ReadNeed]]],
                        read: Any = None
                        ) -> list[tuple[RoomState | None, dict[ReadRequest, Any]]]: ...


def _is_awaitable(value: MaybeAwaitable[T]) -> TypeIs[Awaitable[T]]:
    # TypeIs (not inspect's TypeGuard) narrows the other branch to the plain value too
    return inspect.isawaitable(value)


async def resolve(value: MaybeAwaitable[T]) -> T:
    """Await `value` if a store returned a coroutine, else return it as is."""
    if _is_awaitable(value):
        return await value
    return value
