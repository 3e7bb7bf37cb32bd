-- deliver: the one delivery of a waiting callback, stored as an event of its flow.
-- ARGV: callbackId, kind ("resume"/"fail"), tagged payload, now, origin.
-- Reply: {"ok", published, flowId, eventId} or {"unknown"|"delivered"|"canceled", {}}.
local callbackId, kind, payload, now, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local cb = key('cb', callbackId)
local c = redis.call('HMGET', cb, 'flow', 'st')
if not c[1] then return { 'unknown', {} } end
if c[2] == 'delivered' then return { 'delivered', {} } end
if c[2] ~= 'waiting' then return { 'canceled', {} } end
redis.call('HSET', cb, 'st', 'delivered', 'dat', now)
local seq = addEvent(c[1], kind, callbackId, payload, now)
wakeForEvent(c[1], now, origin)
return { 'ok', published, c[1], seq }
