--[[
  Puts records whose write failed with a retryable error aside until a backoff has passed:
  delay = min(maxMs, baseMs × 2^(attempts − 1)). A record replaced by a newer version meanwhile is
  left pending (the newer version has not failed).

  KEYS[1] rec       HASH
  KEYS[2] pending   ZSET
  KEYS[3] delay     ZSET  field -> due time (ms)
  KEYS[4] attempts  HASH  field -> failed attempts so far

  ARGV[1]           now (ms)
  ARGV[2]           baseMs
  ARGV[3]           maxMs
  ARGV[4..]         pairs: field, version

  Returns a flat list: field, attempts, … for the records put aside.
]]
local rec, pending, delay, attempts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, base, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 2 do
  local field, version = ARGV[i], tonumber(ARGV[i + 1])
  local current = redis.call('HGET', rec, field)
  local currentVersion = current and tonumber(string.match(current, '^(%d+)|'))
  if currentVersion == version then
    local n = redis.call('HINCRBY', attempts, field, 1)
    local wait = math.min(max, base * 2 ^ math.min(n - 1, 30))
    redis.call('ZREM', pending, field)
    redis.call('ZADD', delay, now + wait, field)
    out[#out + 1] = field
    out[#out + 1] = n
  end
end
return out
