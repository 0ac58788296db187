"""Lua fragments shared by the single-node apply script and the Redis Cluster step scripts.

Each fragment reads the payload table `P` (streams.kpi.ops.build_ops, or a room's or brand's
share of it) and `call = redis.call`; the scripts that use them are in apply_lua.py (one node,
one script) and apply_cluster_lua.py (one script per slot). Change a fragment, and both change.
"""

from __future__ import annotations

# P, call and chunked().
PRELUDE = r"""
local P = cjson.decode(ARGV[1])
local call = redis.call

-- Lua's stack limits unpack(): send long argument lists in chunks.
local function chunked(cmd, key, list)
  if #list <= 4000 then
    if #list > 0 then call(cmd, key, unpack(list)) end
    return
  end
  for i = 1, #list, 4000 do call(cmd, key, unpack(list, i, math.min(i + 3999, #list))) end
end
"""

# The offset checks (okey, ofl): replays, fresh; returns early on a replay or a refusal. A
# script that defines `on_tp(field, stored, to)` before it sees every partition's stored offset.
OFFSETS = r"""
-- Offsets first. Each partition's batch says where it starts (`from`, -1: wherever, for a
-- partition with no stored offset; '': unchecked) and where it ends (`to`). Applied only when
-- `from` equals the stored offset: a retried batch finds `to` stored and is a no-op, a batch
-- from behind or past a gap is refused, and a stored offset that vanished means Redis lost
-- its state (restart without persistence, failover to an empty replica, FLUSHALL).
local okey, ofl = P.off[1], P.off[2]
local replays, fresh = 0, 0
for i = 1, #ofl, 3 do
  local cur = call('HGET', okey, ofl[i])
  local from, to = ofl[i + 1], tonumber(ofl[i + 2])
  if cur then cur = tonumber(cur) else cur = nil end  -- a missing field is false, not nil
  if on_tp then on_tp(ofl[i], cur, tonumber(ofl[i + 2])) end  -- the cluster's batch intents
  if from == '' then
    if cur and cur > to then return {-1, ofl[i], tostring(cur)} end
    if cur == to and P.n > 0 then replays = replays + 1 else fresh = fresh + 1 end
  else
    from = tonumber(from)
    if cur == nil then
      if from >= 0 then return {-2, ofl[i], ''} end
      fresh = fresh + 1
    elseif cur == to and from ~= to then
      replays = replays + 1
    elseif cur == from then
      fresh = fresh + 1
    else
      return {-1, ofl[i], tostring(cur)}
    end
  end
end
if replays > 0 then
  if fresh > 0 then return {-1, 'mixed', ''} end
  return {0}
end
"""

# want(), check_room(), check_buyer(brand) and refused(f).
CHECKS = r"""
local function want(k, t)
  local got = call('TYPE', k)['ok']
  if got ~= 'none' and got ~= t then error('roompulse-refused: ' .. k .. ' is a ' .. got) end
end
local function check_room()
  for _, s in ipairs(P.st) do want(s[1], 'hash') end
  for _, n in ipairs(P.pn) do want(n[1], 'hash') end
  for _, h in ipairs(P.h) do want(h[1], 'hash') end
  for _, h in ipairs(P.p) do want(h[1], 'string') end
end
local function check_buyer(brand)
  want(P.buy_pre .. brand .. '}', 'zset')
  want(P.pur_pre .. brand .. '}', 'hash')
end
-- pcall(f): {-3, why} when a key has the wrong type, else nil.
local function refused(f)
  local ok, err = pcall(f)
  if ok then return nil end
  return {-3, tostring(err and (err.err or err) or 'refused'), ''}
end
"""

# A room's writes: state, product names, counters, distinct users, fine-bucket retention.
ROOM_WRITES = r"""
-- Fine buckets around a broadcast's start, start + each edge and end live as long as coarse
-- ones, so first:N and broadcast windows read exactly the broadcast's own time. When a start or
-- end is learnt, the fine buckets already written in those coarse ranges are kept too.
local function floor_to(x, size) return x - (x % size) end
local function keep_range(base, from)
  for b = from, from + P.cms - 1, P.bms do
    local bs = string.format('%d', b)
    local hk = base .. ':b:f:' .. bs
    if call('EXPIRE', hk, P.cttl) == 1 then
      for _, kind in ipairs(P.rk) do
        call('EXPIRE', base .. ':h:f:' .. bs .. ':' .. kind, P.cttl)
      end
      local pids = {}
      for _, f in ipairs(call('HKEYS', hk)) do
        local pid = string.match(f, '^p:(.*):[^:]+$')
        if pid then pids[pid] = true end
      end
      for pid, _ in pairs(pids) do
        for _, kind in ipairs(P.pk) do
          call('EXPIRE', base .. ':ph:f:' .. bs .. ':' .. kind .. ':' .. pid, P.cttl)
        end
      end
    end
  end
end
local function keep_edges(base, at, is_start)
  keep_range(base, floor_to(at, P.cms))
  if is_start then
    for _, e in ipairs(P.edges) do keep_range(base, floor_to(at + e, P.cms)) end
  end
end

-- Room state before buyers: a broadcast_start in this batch names the brand of its orders.
for _, s in ipairs(P.st) do
  local k = s[1]
  local cur = call('HMGET', k, 'first_ms', 'last_ms', 'bstart', 'bend')
  if not cur[1] or tonumber(s[2]) < tonumber(cur[1]) then call('HSET', k, 'first_ms', s[2]) end
  if not cur[2] or tonumber(s[3]) > tonumber(cur[2]) then call('HSET', k, 'last_ms', s[3]) end
  call('HSET', k, 'last_seen', P.clk[3])
  if s[4] ~= '' then call('HSETNX', k, 'platform', s[4]) end
  local bstart, bend = cur[3] and tonumber(cur[3]), cur[4] and tonumber(cur[4])
  if s[5] ~= '' then
    local bs = tonumber(s[5])
    if not bstart or bs > bstart then
      call('HSET', k, 'bstart', s[5])
      bstart = bs
      if bend and bend < bs then call('HDEL', k, 'bend'); bend = nil end
      keep_edges(s[8], bs, true)
    end
  end
  if s[6] ~= '' then
    local be = tonumber(s[6])
    if (not bstart or be >= bstart) and (not bend or be > bend) then
      call('HSET', k, 'bend', s[6])
      keep_edges(s[8], be, false)
    end
  end
  for _, u in ipairs(s[7]) do
    local old = call('HGET', k, u[1])
    if not old or tonumber(u[2]) >= tonumber(old) then call('HSET', k, unpack(u)) end
  end
  call('EXPIRE', k, P.room_ttl)
end
for _, n in ipairs(P.pn) do
  chunked('HSET', n[1], n[2])
  call('EXPIRE', n[1], P.room_ttl)
end

-- Counters: one HMGET + one HSET per bucket hash (not one HINCRBY per field): far fewer calls.
-- Sums stay exact below 2^53; '%d' keeps them integral when written back.
for _, h in ipairs(P.h) do
  local k, f = h[1], h[3]
  for i = 1, #f, 4000 do
    local j = math.min(i + 3999, #f)
    local names = {}
    for x = i, j, 2 do names[#names + 1] = f[x] end
    local cur = call('HMGET', k, unpack(names))
    local out = {}
    for n = 1, #names do
      out[2 * n - 1] = names[n]
      out[2 * n] = string.format('%d', (tonumber(cur[n]) or 0) + tonumber(f[i + 2 * n - 1]))
    end
    call('HSET', k, unpack(out))
  end
  if h[2] > 0 then call('EXPIRE', k, h[2]) end
end
for _, h in ipairs(P.p) do
  chunked('PFADD', h[1], h[3])
  if h[2] > 0 then call('EXPIRE', h[1], h[2]) end
end

for _, g in ipairs(P.fe) do
  local cur = call('HMGET', g[1], 'bstart', 'bend')
  local ranges = {}
  if cur[1] then
    local bs = tonumber(cur[1])
    ranges[floor_to(bs, P.cms)] = true
    for _, e in ipairs(P.edges) do ranges[floor_to(bs + e, P.cms)] = true end
  end
  if cur[2] then ranges[floor_to(tonumber(cur[2]), P.cms)] = true end
  if next(ranges) then
    for _, bk in ipairs(g[2]) do
      if ranges[floor_to(tonumber(bk[1]), P.cms)] then
        for i = 2, #bk do call('EXPIRE', bk[i], P.cttl) end
      end
    end
  end
end
"""

# Buyer history and repurchase marks; needs brand_of(b). Leaves `rep` (HLL key -> users) and
# `rep_ttl` for the caller to write (one node) or return (cluster).
BUYERS = r"""
-- Repurchase: a paid order is a repeat when the same user paid the same brand within the
-- 7 (30) days before it. Each user's recent orders (`ts@room`) are kept per brand, so an order
-- arriving late also makes the LATER orders it precedes repeats: whatever the arrival order,
-- the marks are the same (HLL adds are idempotent).
local rep, rep_ttl, newest = {}, {}, {}
local function mark(room, t, kind, user)
  local b = t - (t % P.bms)
  local cb = b - (b % P.cms)
  local base = P.kp .. ':{' .. room .. '}:h:'
  for _, kt in ipairs({{base .. 'f:' .. string.format('%d', b) .. ':' .. kind, P.fttl},
                       {base .. 'c:' .. string.format('%d', cb) .. ':' .. kind, P.cttl}}) do
    local k = kt[1]
    if not rep[k] then rep[k] = {}; rep_ttl[k] = kt[2] end
    rep[k][#rep[k] + 1] = user
  end
end
for _, b in ipairs(P.buy) do
  local ts, user, room = b[1], b[3], b[6]
  local brand = brand_of(b)
  local hk, pk = P.buy_pre .. brand .. '}', P.pur_pre .. brand .. '}'
  local hist = {}
  local raw = call('HGET', pk, user)
  if raw then
    for t, r in string.gmatch(raw, '(%d+)@([^,]*)') do hist[#hist + 1] = {tonumber(t), r} end
  elseif call('ZSCORE', hk, user) then
    -- A buyer recorded before per-order history existed: its newest order is all we know.
    hist[1] = {tonumber(call('ZSCORE', hk, user)), ''}
  end
  local seven, thirty, known = false, false, false
  for _, h in ipairs(hist) do
    local gap = ts - h[1]
    if gap == 0 and h[2] == room then known = true end
    if gap > 0 and gap <= P.win30 then
      thirty = true
      if gap <= P.win7 then seven = true end
    elseif gap < 0 and -gap <= P.win30 and h[2] ~= '' then
      -- this order precedes a later one: that one is a repeat (idempotent if it was already)
      if -gap <= P.win7 then mark(h[2], h[1], 'r7', user) end
      mark(h[2], h[1], 'r30', user)
    end
  end
  if seven then mark(room, ts, 'r7', user) end
  if thirty then mark(room, ts, 'r30', user) end
  -- Recorded once: a replayed order (the cluster re-runs buyer steps) changes nothing.
  if not known then hist[#hist + 1] = {ts, room} end
  table.sort(hist, function(x, y) return x[1] < y[1] end)
  local top = hist[#hist][1]
  local parts = {}
  for i = math.max(1, #hist - P.max_pur + 1), #hist do
    if hist[i][1] >= top - P.hist_ms then
      parts[#parts + 1] = string.format('%d', hist[i][1]) .. '@' .. hist[i][2]
    end
  end
  call('HSET', pk, user, table.concat(parts, ','))
  call('ZADD', hk, 'GT', b[2], user)
  if not newest[hk] or ts > newest[hk][1] then newest[hk] = {ts, pk} end
end
for hk, tp in pairs(newest) do
  local cutoff = '(' .. string.format('%d', tp[1] - P.hist_ms)
  local gone = call('ZRANGEBYSCORE', hk, '-inf', cutoff)
  if #gone > 0 then
    chunked('HDEL', tp[2], gone)
    call('ZREMRANGEBYSCORE', hk, '-inf', cutoff)
  end
  call('EXPIRE', hk, P.hist_ttl)
  call('EXPIRE', tp[2], P.hist_ttl)
end
"""

WRITE_MARKS = r"""
for k, users in pairs(rep) do
  chunked('PFADD', k, users)
  call('EXPIRE', k, rep_ttl[k])
end
"""

# Live rooms, the stream clock and the offsets (single node).
GLOBALS = r"""
-- Live rooms: scored by the last apply (wall ms); rooms idle past the room TTL drop out.
if #P.rooms[2] > 0 then
  local z = {}
  for _, r in ipairs(P.rooms[2]) do z[#z + 1] = P.clk[3]; z[#z + 1] = r end
  chunked('ZADD', P.rooms[1], z)
end
call('ZREMRANGEBYSCORE', P.rooms[1], '-inf', '(' .. P.rooms[3])
if P.clk[2] ~= '' then
  local cur = call('HGET', P.clk[1], 'event_ms')
  if not cur or tonumber(P.clk[2]) > tonumber(cur) then
    call('HSET', P.clk[1], 'event_ms', P.clk[2])
  end
end
call('HSET', P.clk[1], 'applied_ms', P.clk[3])
local done = {}
for i = 1, #ofl, 3 do done[#done + 1] = ofl[i]; done[#done + 1] = ofl[i + 2] end
chunked('HSET', okey, done)
return {1}
"""
