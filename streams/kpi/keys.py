"""Every Redis key of the KPI engine, in one place; per-room keys share the hash tag {room}."""

from __future__ import annotations

from dataclasses import dataclass

FINE = "f"
MAX_PURCHASES = 16  # recent paid orders remembered per user and brand (repurchase)
COARSE = "c"

# HyperLogLog kinds per room bucket (distinct users) and per product bucket.
HLL_UV = "uv"  # entered
HLL_INTERACT = "iu"  # commented, liked, shared or followed
HLL_CLICK = "ck"  # clicked a product
HLL_CART = "ca"  # added to cart
HLL_BUY = "by"  # paid an order
HLL_PRIVATE = "pd"  # joined the private domain
HLL_REPEAT_7D = "r7"  # paid, and had paid the same brand within 7 days before
HLL_REPEAT_30D = "r30"
ROOM_HLLS = (HLL_UV, HLL_INTERACT, HLL_CLICK, HLL_CART, HLL_BUY, HLL_PRIVATE,
             HLL_REPEAT_7D, HLL_REPEAT_30D)
PRODUCT_HLLS = (HLL_CLICK, HLL_CART, HLL_BUY)


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one prefix; room keys embed `{room_id}`, so a room is one Cluster slot."""

    prefix: str = "rp"

    def room(self, room_id: str) -> str:
        return f"{self.prefix}:{{{room_id}}}"

    def bucket(self, room_id: str, res: str, bucket_ms: int) -> str:
        """Hash of counters (room, per-source and per-product fields) for one bucket."""
        return f"{self.prefix}:{{{room_id}}}:b:{res}:{bucket_ms}"

    def hll(self, room_id: str, res: str, bucket_ms: int, kind: str) -> str:
        return f"{self.prefix}:{{{room_id}}}:h:{res}:{bucket_ms}:{kind}"

    def product_hll(self, room_id: str, res: str, bucket_ms: int, kind: str,
                    product_id: str) -> str:
        # The product id goes last so that any character in it is harmless.
        return f"{self.prefix}:{{{room_id}}}:ph:{res}:{bucket_ms}:{kind}:{product_id}"

    def host_sketch(self, room_id: str, broadcast_start_ms: int, kind: str, host_id: str) -> str:
        """HLL of one broadcast's distinct users of `kind` in the minutes a host was on air
        (the history writer merges closed minutes into it: streams.history.host_sketches).
        The host id goes last so that any character in it is harmless."""
        return f"{self.prefix}:{{{room_id}}}:hs:{broadcast_start_ms}:{kind}:{host_id}"

    def audience_users(self, room_id: str, broadcast_start_ms: int) -> str:
        """Hash user_id -> first entry (s) * 2^20 + group id * 4 + flags (1: interacted, 2:
        paid) of one broadcast's viewers (streams.kpi.audience_map); written as increments."""
        return f"{self.prefix}:{{{room_id}}}:au:u:{broadcast_start_ms}"

    def audience_groups(self, room_id: str, broadcast_start_ms: int) -> str:
        """Hash `["region", "age band", "source"]` (JSON) -> group id, for audience_users."""
        return f"{self.prefix}:{{{room_id}}}:au:g:{broadcast_start_ms}"

    def audience_pending(self, room_id: str, broadcast_start_ms: int) -> str:
        """Hash `f:|w:|g:<user>` -> flags, watch ms, GMV cents of viewers not entered yet."""
        return f"{self.prefix}:{{{room_id}}}:au:p:{broadcast_start_ms}"

    def audience_minute(self, room_id: str, minute_ms: int) -> str:
        """Hash `<group id>:<metric>` -> count: one minute's audience counters per group of
        region, age band and entry source (audience_groups; 0: untracked); history reads it."""
        return f"{self.prefix}:{{{room_id}}}:au:m:{minute_ms}"

    def state(self, room_id: str) -> str:
        """Hash: what control events say about the room (see store_base.STATE_FIELDS)."""
        return f"{self.prefix}:{{{room_id}}}:state"

    def product_names(self, room_id: str) -> str:
        """Hash product_id -> name (from product_pinned), plus `<id>\\x00ts` stamps."""
        return f"{self.prefix}:{{{room_id}}}:pnames"

    @property
    def live_rooms(self) -> str:
        """ZSET room_id -> wall ms of its last apply; rooms idle past the room TTL drop out."""
        return f"{self.prefix}:live"

    @property
    def clock(self) -> str:
        """Hash: `event_ms` = newest event time applied overall, `applied_ms` = wall time."""
        return f"{self.prefix}:clock"

    def offsets(self, group: str) -> str:
        """Hash `topic:partition` -> next offset to read, for one consumer group."""
        return f"{self.prefix}:offsets:{group}"

    @property
    def buyers_prefix(self) -> str:
        """ZSET per brand: user_id -> last paid order time (ms). The script appends
        `<brand>}`: a brand's two buyer keys share the Cluster slot of the hash tag {brand}."""
        return f"{self.prefix}:buyers:{{"

    def buyers(self, brand: str) -> str:
        return self.buyers_prefix + brand + "}"

    @property
    def purchases_prefix(self) -> str:
        """HASH per brand: user_id -> that user's recent paid orders, `ts@room` comma-joined
        (ascending, the last MAX_PURCHASES within the buyer history). The script appends
        `<brand>}`. Lets a late earlier order make the later ones repeats."""
        return f"{self.prefix}:purchases:{{"

    def purchases(self, brand: str) -> str:
        return self.purchases_prefix + brand + "}"


def offset_field(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def parse_offset_field(field: str) -> tuple[str, int]:
    # Kafka topic names cannot contain ':', so the last ':' splits topic and partition.
    topic, _, part = field.rpartition(":")
    return topic, int(part)
