--[[
  Ends the retry backoff of one shard's records early: the worker saw Elasticsearch answer again after
  its requests could not reach it, so waiting out the backoff would only delay recovery. Moves up to
  `limit` fields from "delay" back to "pending", due now; attempt counts stay.

  KEYS[1] pending  ZSET  field -> time first buffered (ms)
  KEYS[2] delay    ZSET  field -> time the next attempt is due (ms)

  ARGV[1]          now (ms)
  ARGV[2]          limit

  Returns the number of fields moved (the caller repeats while it equals the limit).
]]
local pending, delay = KEYS[1], KEYS[2]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local fields = redis.call('ZRANGE', delay, 0, limit - 1)
for _, field in ipairs(fields) do
  redis.call('ZREM', delay, field)
  redis.call('ZADD', pending, now, field)
end
return #fields
