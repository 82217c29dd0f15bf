--[[
  Compare-and-delete after a flush: a record leaves the buffer only if it still holds the version
  that was written. A newer change that arrived during the flush stays pending.

  KEYS[1] rec       HASH
  KEYS[2] pending   ZSET
  KEYS[3] delay     ZSET
  KEYS[4] attempts  HASH  field -> failed attempts so far

  ARGV[1..]         pairs: field, version

  Returns {deleted, kept}.
]]
local rec, pending, delay, attempts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local deleted, kept = 0, 0
for i = 1, #ARGV, 2 do
  local field, version = ARGV[i], tonumber(ARGV[i + 1])
  local current = redis.call('HGET', rec, field)
  local currentVersion = current and tonumber(string.match(current, '^(%d+)|'))
  if currentVersion == version then
    redis.call('HDEL', rec, field)
    redis.call('ZREM', pending, field)
    redis.call('ZREM', delay, field)
    redis.call('HDEL', attempts, field)
    deleted = deleted + 1
  else
    kept = kept + 1
  end
end
return {deleted, kept}
