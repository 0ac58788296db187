"""The Redis apply script: one EVALSHA applies a whole batch and its offsets atomically."""

from __future__ import annotations

from streams.kpi.lua_parts import (
    BUYERS,
    CHECKS,
    GLOBALS,
    OFFSETS,
    PRELUDE,
    ROOM_WRITES,
    WRITE_MARKS,
)

# ARGV[1] is the JSON payload from streams.kpi.ops.build_ops. Returns {1} when applied, {0} for an
# exact replay, {-1, field, stored} when a stored offset is not where the batch starts (stale
# writer or gap), {-2, field} when the stored offset is gone (state lost) and {-3, why} when a key
# has the wrong type; nothing is written unless {1}. Mirrors
# streams.kpi.store_memory.InMemoryKpiStore._apply_ops step for step; change both together.
APPLY_LUA = PRELUDE + "local on_tp = nil\n" + OFFSETS + CHECKS + r"""
-- A buyer's brand: the order's, else the room's (a broadcast_start in this batch included).
local function brand_of(b)
  if b[4] ~= '' then return b[4] end
  return call('HGET', b[5], 'brand') or b[6]
end
-- Validate before the first write: Redis does not roll a failed script back, so a key of the
-- wrong type (written by something else under our prefix) must refuse the whole batch here.
local function check()
  want(okey, 'hash'); want(P.clk[1], 'hash'); want(P.rooms[1], 'zset')
  check_room()
  for _, b in ipairs(P.buy) do
    want(b[5], 'hash')
    check_buyer(brand_of(b))
    for j = 7, 10 do want(b[j], 'string') end
  end
end
local no = refused(check)
if no then return no end
""" + ROOM_WRITES + BUYERS + WRITE_MARKS + GLOBALS
