--[[
  Reads the oldest pending records of one shard for a flush. Records whose retry delay has passed
  move from "delay" back to "pending" first. Nothing is removed: the flush acknowledges what it wrote
  with ack-if-version. The caller holds the shard's lock.

  KEYS[1] rec      HASH  field -> "<version>|<sourceTs>|<op>|<row json>"
  KEYS[2] pending  ZSET  field -> time first buffered (ms)
  KEYS[3] delay    ZSET  field -> time the next attempt is due (ms)

  ARGV[1]          now (ms)
  ARGV[2]          limit

  Returns a flat list: field, value, bufferedAt, … (oldest first). A pending field without a record
  (not expected) is dropped from the index.
]]
local rec, pending, delay = KEYS[1], KEYS[2], KEYS[3]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])

local due = redis.call('ZRANGEBYSCORE', delay, '-inf', now, 'LIMIT', 0, limit)
for _, field in ipairs(due) do
  redis.call('ZREM', delay, field)
  redis.call('ZADD', pending, now, field)
end

local out = {}
local entries = redis.call('ZRANGE', pending, 0, limit - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local field = entries[i]
  local value = redis.call('HGET', rec, field)
  if value then
    out[#out + 1] = field
    out[#out + 1] = value
    out[#out + 1] = entries[i + 1]
  else
    redis.call('ZREM', pending, field)
  end
end
return out
