"""Every Redis key of the control-room feed (alerts/sinks/console.py), from one prefix.

All of them carry the hash tag `{feed}`, so on a Redis Cluster they live in one slot: sending
alerts writes the current-alerts hash and the feed stream in one script, and the acknowledgements
of many episodes are read with one MGET; Redis refuses both across slots (CROSSSLOT). The feed is
small (a capped stream, the alerts firing now, acknowledgements expiring after a week), so one
slot on one master holds it easily. On one node the tag is only part of the name.

Each room's alert log (history's timeline) is in that slot too, so that the script recording a
transition or an acknowledgement writes the feed and the log together. It is bounded by the
rooms of the last `room_ttl_s` x the per-room cap (500 x a few hundred bytes); rooms rarely log
more than tens of entries a broadcast.

Should the prefix itself contain a hash tag, Redis hashes that one instead (the first `{...}` of
a name counts), which still puts every key of the feed in one slot."""

from __future__ import annotations

from dataclasses import dataclass

TAG = "{feed}"


@dataclass(frozen=True, slots=True)
class FeedKeys:
    """Key names under `prefix` (the console prefix, e.g. `rp:console`)."""

    prefix: str

    @property
    def stream(self) -> str:
        """STREAM: feed entries (alerts, acknowledgements, silences), capped (XADD MAXLEN ~)."""
        return f"{self.prefix}:{TAG}"

    @property
    def current(self) -> str:
        """HASH fingerprint -> alert JSON, while the alert is firing."""
        return f"{self.prefix}:{TAG}:current"

    def log(self, room_id: str) -> str:
        """STREAM: one room's alert transitions and acknowledgements (history's timeline),
        capped per room (XTRIM MAXLEN), expiring with the room (PEXPIRE on every write). The
        room comes after the tag, so no room id can move the key to another slot."""
        return f"{self.prefix}:{TAG}:log:{room_id}"

    def ack(self, fingerprint: str, starts_at: int) -> str:
        """STRING: who acknowledged one firing episode (SET NX, 7-day TTL)."""
        return f"{self.prefix}:{TAG}:ack:{fingerprint}:{starts_at}"
