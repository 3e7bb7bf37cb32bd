-- createFlow: a running flow, leased to its creator, runnable (for recovery) from `now`.
-- ARGV: id, rootFunctionId, snapshot ("" = none), metadata JSON ("" = none), owner, token, now,
--       lease expiry, created key (listing order).
-- Reply: {"ok", {}} or {"exists", {}}.
local id, root, snap, meta, owner, token, now, lexp, ck =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local fk = key('flow', id)
if redis.call('EXISTS', fk) == 1 then return { 'exists', {} } end
redis.call('HSET', fk, 'st', 'running', 'rev', 0, 'root', root, 'cat', now, 'uat', now, 'rat', now,
  'ltok', token, 'lown', owner, 'lexp', lexp, 'att', 1, 'ck', ck)
if snap ~= '' then redis.call('HSET', fk, 'snap', snap) end
if meta ~= '' then redis.call('HSET', fk, 'meta', meta) end
reindex(id, now, lexp)
redis.call('ZADD', CREATED, 0, ck)
redis.call('ZADD', statusKey('running'), 0, ck)
return { 'ok', {} }
