-- sweep: deletes finished flows past their retention, oldest first, with every key and index
-- entry they own. When no flow is left, the event id counter goes too, so an empty store holds
-- no key at all (ids restart at 1, which is safe: no event, and no flow a stale run could name).
-- ARGV: now, limit.
-- Reply: {"ok", {}, count}.
local now, limit = ARGV[1], tonumber(ARGV[2])
local ids = redis.call('ZRANGE', EXPIRING, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  local fk = key('flow', id)
  local f = redis.call('HMGET', fk, 'st', 'ck')
  local cbs = key('cbs', id)
  for _, cb in ipairs(redis.call('SMEMBERS', cbs)) do redis.call('DEL', key('cb', cb)) end
  redis.call('DEL', cbs, key('timers', id), key('events', id), key('evdata', id), fk)
  redis.call('ZREM', EXPIRING, id)
  redis.call('ZREM', READY, id)
  redis.call('ZREM', LEASED, id)
  if f[2] then
    redis.call('ZREM', CREATED, f[2])
    if f[1] then redis.call('ZREM', statusKey(f[1]), f[2]) end
  end
end
if redis.call('ZCARD', CREATED) == 0 then redis.call('DEL', SEQ) end
return { 'ok', {}, #ids }
