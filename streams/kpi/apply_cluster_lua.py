"""The Redis Cluster apply: one small script per slot, each idempotent, in a fixed order.

On one node a single script applies a batch and its offsets atomically (apply_lua.py). A
Cluster runs a script on one slot only, and a batch touches many rooms (each room is one slot,
hash tag `{room}`), the brands' buyer histories (`{brand}`), the live-rooms set, the clock and
the offsets. So a batch becomes steps, each of which is safe to run twice:

1. BEGIN (offsets hash): the single-node offset checks, then an *intent* per partition,
   `i:<topic>:<partition>` = `from,to`, recorded before anything else is written.
2. ROOM (one per room, its state hash): applied only if the room's own `a:<topic>:<partition>`
   fields are below the batch's end offsets, which it then sets. A replayed room is a no-op.
3. BRAND (one per brand): buyer history and repurchase marks; recording an order twice
   changes nothing, so it runs on replays too. Returns the marks (HLL adds, idempotent).
4. Marks, live rooms and the clock: idempotent writes.
5. COMMIT (offsets hash): the offsets move to the batch's end; resolved intents go.

A worker that crashes between 1 and 5 leaves the intent: the next BEGIN over that partition
answers CUT (-4) unless its batch ends at or before the intent's end and holds no other
partition, so the worker re-reads the partition alone, cut at the same offset, and every room
sees either a batch it applied whole or one it never saw. docs/worker.md has the full argument.
"""

from __future__ import annotations

from streams.kpi.lua_parts import BUYERS, CHECKS, OFFSETS, PRELUDE, ROOM_WRITES

# KEYS[1] offsets hash; ARGV[1] {"off": [okey, [field, from, to, ...]], "n": events}.
# {1} go, {0} replay (committed), {-1 ..} moved, {-2 ..} lost, {-3 ..} refused,
# {-4, field, cut, ...}: re-read these partitions alone, each cut at `cut`.
BEGIN_LUA = PRELUDE + r"""
local pending = {}
local function on_tp(f, cur, to)
  local it = call('HGET', KEYS[1], 'i:' .. f)
  if not it then return end
  local ito = tonumber(string.match(it, ',(%d+)$'))
  if ito and (cur or -1) < ito then pending[#pending + 1] = {f, ito, to} end
end
""" + OFFSETS + CHECKS + r"""
if #pending > 0 then
  local alone = #ofl == 3
  local ok = alone
  for _, p in ipairs(pending) do if p[3] > p[2] then ok = false end end
  if not ok then
    local out = {-4}
    for _, p in ipairs(pending) do out[#out + 1] = p[1]; out[#out + 1] = tostring(p[2]) end
    return out
  end
end
local no = refused(function() want(okey, 'hash') end)
if no then return no end
local open = {}
for _, p in ipairs(pending) do open[p[1]] = true end
for i = 1, #ofl, 3 do
  if not open[ofl[i]] then call('HSET', okey, 'i:' .. ofl[i], ofl[i + 1] .. ',' .. ofl[i + 2]) end
end
return {1}
"""

# KEYS[1] the room's state hash; ARGV[1] the room's share of the payload plus
# "off": [[field, to], ...]. {1, brand} applied, {0, brand} already applied, {-3, why}.
ROOM_LUA = PRELUDE + CHECKS + r"""
local sk = KEYS[1]
local seen, unseen = 0, 0
for _, o in ipairs(P.off) do
  local a = call('HGET', sk, 'a:' .. o[1])
  if a and tonumber(a) >= tonumber(o[2]) then seen = seen + 1 else unseen = unseen + 1 end
end
if seen > 0 and unseen > 0 then
  return {-3, sk .. ': the batch straddles offsets this room has applied', ''}
end
if seen > 0 then return {0, call('HGET', sk, 'brand') or ''} end
local no = refused(check_room)
if no then return no end
""" + ROOM_WRITES + r"""
for _, o in ipairs(P.off) do call('HSET', sk, 'a:' .. o[1], o[2]) end
return {1, call('HGET', sk, 'brand') or ''}
"""

# KEYS[1] the brand's buyers ZSET; ARGV[1] its orders (brand resolved) and the constants.
# {1, json [marks: HLL key -> users, ttls: HLL key -> ttl]} or {-3, why}.
BRAND_LUA = PRELUDE + CHECKS + r"""
local function brand_of(b) return b[4] end
local no = refused(function() check_buyer(P.brand) end)
if no then return no end
""" + BUYERS + r"""
if next(rep) == nil then return {1, '[{},{}]'} end
return {1, cjson.encode({rep, rep_ttl})}
"""

# KEYS[1] the clock hash; ARGV event_ms ('' = none), applied_ms. The newest event time wins.
CLOCK_LUA = r"""
if ARGV[1] ~= '' then
  local cur = redis.call('HGET', KEYS[1], 'event_ms')
  if not cur or tonumber(ARGV[1]) > tonumber(cur) then
    redis.call('HSET', KEYS[1], 'event_ms', ARGV[1])
  end
end
redis.call('HSET', KEYS[1], 'applied_ms', ARGV[2])
return 1
"""

# KEYS[1] offsets hash; ARGV[1] [field, from, to, ...]. {1} or {-1 ..} / {-2 ..} as BEGIN.
COMMIT_LUA = r"""
local ofl = cjson.decode(ARGV[1])
local call, okey = redis.call, KEYS[1]
for i = 1, #ofl, 3 do
  local cur = call('HGET', okey, ofl[i])
  if cur then cur = tonumber(cur) else cur = nil end
  local from, to = ofl[i + 1], tonumber(ofl[i + 2])
  if cur ~= to and from ~= '' then
    from = tonumber(from)
    if cur == nil and from >= 0 then return {-2, ofl[i], ''} end
    if cur ~= nil and cur ~= from then return {-1, ofl[i], tostring(cur)} end
  end
end
for i = 1, #ofl, 3 do
  local f, to = ofl[i], tonumber(ofl[i + 2])
  call('HSET', okey, f, ofl[i + 2])
  local it = call('HGET', okey, 'i:' .. f)
  if it and to >= tonumber(string.match(it, ',(%d+)$') or 0) then call('HDEL', okey, 'i:' .. f) end
end
return {1}
"""
