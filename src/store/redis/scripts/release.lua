-- releaseLease: gives a lease back without committing (even an expired one nobody took over).
-- ARGV: flowId, token, origin.
-- Reply: {"ok", published, 1} or {"ok", {}, 0} when the token no longer holds the flow.
local flowId, token, origin = ARGV[1], ARGV[2], ARGV[3]
local fk = key('flow', flowId)
local f = redis.call('HMGET', fk, 'ltok', 'rat')
if not f[1] or f[1] ~= token then return { 'ok', {}, 0 } end
redis.call('HDEL', fk, 'ltok', 'lown', 'lexp')
local readyAt = opt(f[2])
reindex(flowId, readyAt, nil)
if readyAt then publish(origin, 'work', readyAt) end
return { 'ok', published, 1 }
