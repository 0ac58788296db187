"""The Lua scripts of the console feed (console.py): what one alert transition or one
acknowledgement writes, each as one script so that nobody sees the parts disagree."""

from __future__ import annotations

# Sending is one script, not MULTI/EXEC, so one node and a Redis Cluster run the same code (every
# key shares the feed's slot, see feedkeys.py). redis-py's asyncio cluster MULTI queues each
# command through asyncio.run in a thread of its own and, as a fresh client's first command,
# initialises the client on that thread's loop, which breaks it ("Event loop is closed", seen
# with redis-py 8.1). Like the transaction it replaces, nobody sees the current-alerts hash and
# the feed disagree, nor the feed and the room logs (roomlog.py). KEYS: current, feed, then the
# rooms' logs. ARGV: feed maxlen, log maxlen, log TTL ms, then per alert fingerprint, alert JSON
# ('' = not firing any more), feed entry, the KEYS index of its room's log. Returns the log
# entries the per-room cap dropped.
SEND_LUA = """
local trimmed = 0
for i = 4, #ARGV, 4 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 2])
  local log = KEYS[tonumber(ARGV[i + 3])]
  redis.call('XADD', log, '*', 'e', ARGV[i + 2])
  trimmed = trimmed + redis.call('XTRIM', log, 'MAXLEN', ARGV[2])
  redis.call('PEXPIRE', log, ARGV[3])
end
return trimmed
"""
# The first acknowledgement of an episode (SET NX) and its feed and log entries, together. KEYS:
# the episode's ack key, feed, the room's log. ARGV: ack JSON, ack TTL s, feed entry, log entry,
# feed maxlen, log maxlen, log TTL ms. Returns {1, trimmed}, or {0, the ack that stands}.
ACK_LUA = """
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then
  return {0, redis.call('GET', KEYS[1])}
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[3])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[4])
local trimmed = redis.call('XTRIM', KEYS[3], 'MAXLEN', ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return {1, trimmed}
"""
