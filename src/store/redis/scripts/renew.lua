-- renewLease: extends a held, unexpired lease.
-- ARGV: flowId, token, now, new lease expiry.
-- Reply: {"ok", {}, owner} or {"gone"|"lease", {}, why}.
local flowId, token, now, lexp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fk = key('flow', flowId)
local f = redis.call('HMGET', fk, 'st', 'ltok', 'lexp', 'lown', 'rat')
if not f[1] then return { 'gone', {} } end
local held = leaseCheck(f[2], f[3], token, now)
if held ~= 'held' then return { 'lease', {}, held } end
redis.call('HSET', fk, 'lexp', lexp)
reindex(flowId, opt(f[5]), lexp)
return { 'ok', {}, f[4] }
