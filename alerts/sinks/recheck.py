"""Is a held nudge still wanted? Asked just before a queued (or retried) nudge goes out.

The notify pipeline checks silences when an alert passes through it, but a nudge the throttle
held for up to its interval leaves much later: an operator may have silenced the room or
acknowledged the alert in between, and that nudge must then stay quiet."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from alerts.clock import now_ms
from alerts.model import Alert
from alerts.silences import SilenceStore

log = logging.getLogger(__name__)

SILENCED = "silenced"
ACKNOWLEDGED = "acknowledged"


class AckReader(Protocol):
    """The part of the console feed (alerts.sinks.console.AlertFeed) this needs."""

    async def acks(self, episodes: Sequence[tuple[str, int]]) -> dict[Any, Any]: ...


# (alerts) -> (still wanted, [(alert, reason)] not wanted any more)
Gate = Callable[[Sequence[Alert]], Awaitable[tuple[list[Alert], list[tuple[Alert, str]]]]]


class StillWanted:
    """A Gate over the silence store and the acknowledgements of the console feed; either may be
    None (that check is skipped). Errors reading them propagate: the caller decides (the nudger
    sends anyway, since a missed nudge is worse than one that a silence would have muted)."""

    def __init__(self, silences: SilenceStore | None = None, acks: AckReader | None = None,
                 clock: Callable[[], int] = now_ms) -> None:
        self.silences, self.acks, self.clock = silences, acks, clock

    async def __call__(
        self, alerts: Sequence[Alert]
    ) -> tuple[list[Alert], list[tuple[Alert, str]]]:
        keep, dropped = list(alerts), list[tuple[Alert, str]]()
        if not keep:
            return keep, dropped
        if self.silences is not None:
            active = await self.silences.list(active_at=self.clock())
            if active:
                muted = {id(a) for a in keep if any(s.matches(a) for s in active)}
                dropped += [(a, SILENCED) for a in keep if id(a) in muted]
                keep = [a for a in keep if id(a) not in muted]
        if self.acks is not None and keep:
            acked = await self.acks.acks([(a.fingerprint, a.starts_at) for a in keep])
            dropped += [(a, ACKNOWLEDGED) for a in keep if (a.fingerprint, a.starts_at) in acked]
            keep = [a for a in keep if (a.fingerprint, a.starts_at) not in acked]
        return keep, dropped
