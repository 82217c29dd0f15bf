--[[
  Buffers changes of one shard, newest version wins whatever the arrival order.

  KEYS[1] rec      HASH  field "<db>.<table>|<pk>" -> "<version>|<sourceTs>|<op>|<row json>"
  KEYS[2] pending  ZSET  field -> time first buffered (ms); absent while the field waits in "delay"

  ARGV[1]          now (ms)
  ARGV[2..]        triples: field, version, value (the full "<version>|…" string)

  Returns {inserted, replaced, refused}: inserted = rows not buffered before; replaced = a buffered
  older version overwritten (merged: it will never be written); refused = not newer than the buffered
  version (stale or duplicate). A field already buffered keeps its place in pending (or delay).
]]
local rec, pending = KEYS[1], KEYS[2]
local now = ARGV[1]
local inserted, replaced, refused = 0, 0, 0
for i = 2, #ARGV, 3 do
  local field, version, value = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local current = redis.call('HGET', rec, field)
  if current then
    local currentVersion = tonumber(string.match(current, '^(%d+)|'))
    if currentVersion and currentVersion >= version then
      refused = refused + 1
    else
      redis.call('HSET', rec, field, value)
      replaced = replaced + 1
    end
  else
    redis.call('HSET', rec, field, value)
    redis.call('ZADD', pending, now, field)
    inserted = inserted + 1
  end
end
return {inserted, replaced, refused}
