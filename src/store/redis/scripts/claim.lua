-- claim: leases up to `limit` claimable flows, oldest readyAt first, turning due timers into
-- events. Claimable = unleased with readyAt <= now (READY), or leased with an expired lease and
-- readyAt <= now (LEASED scored by max(readyAt, lease expiry)): two range reads, no scan.
-- ARGV: now, limit, owner, lease expiry, token base (128 random bits: the i-th flow's lease token
--       is base .. '.' .. i, fresh for every claim).
-- Reply: {"ok", {}, flows}, each flow {id, revision, status, rootFunctionId, snapshot, metadata,
--        attempt, token, events}.
local now, limit, owner, lexp, base = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]

local candidates = {}
local ready = redis.call('ZRANGE', READY, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
for i = 1, #ready, 2 do candidates[#candidates + 1] = { ready[i], ready[i + 1] } end
-- Expired leases are few (crashed or stalled runs); take them all so the order stays exact.
local expired = redis.call('ZRANGE', LEASED, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  local readyAt = redis.call('HGET', key('flow', id), 'rat')
  if readyAt then candidates[#candidates + 1] = { id, readyAt } end
end
if #expired > 0 then
  table.sort(candidates, function(a, b)
    local x, y = tonumber(a[2]), tonumber(b[2])
    if x ~= y then return x < y end
    return a[1] < b[1]
  end)
end

local out = {}
for i = 1, math.min(limit, #candidates) do
  local id, readyAt = candidates[i][1], candidates[i][2]
  local token = base .. '.' .. i
  local fk = key('flow', id)
  redis.call('HSET', fk, 'ltok', token, 'lown', owner, 'lexp', lexp)
  local attempt = redis.call('HINCRBY', fk, 'att', 1)
  reindex(id, readyAt, lexp)
  local f = redis.call('HMGET', fk, 'rev', 'st', 'root', 'snap', 'meta')
  out[i] = { id, f[1], f[2], f[3], f[4] or '', f[5] or '', attempt, token, collectEvents(id, now) }
end
return { 'ok', {}, out }
