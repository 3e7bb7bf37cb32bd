-- commit: a run's outcome, all or nothing, fenced by the revision and the lease token.
-- ARGV: flowId, revision, token, now, status, finished ("1"/"0"),
--       snapshot, result, error ("k" = keep, "n" = clear, else the tagged payload),
--       lastError JSON ("" = clear), metadata ("k" = keep, "n" = clear, else JSON),
--       runnableAt, deferUntil ("" = none), kept lease expiry ("" = release the lease),
--       retention deadline of a finished flow ("" = forever), origin,
--       then four counts and their lists: callbacks (id), timers (id, dueAt), removed waits (id),
--       consumed events (id).
-- Reply: {"ok", published, revision, readyAt, lease expiry, lease owner, events} or
--        {"gone"|"lease"|"rev"|"consumed"|"callback"|"timer", {}, detail}.
local flowId, revision, token, now, status, finished =
  ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'
local snap, res, err, lerr, meta = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local runnableAt, deferUntil, keepUntil, expiresAt = opt(ARGV[12]), opt(ARGV[13]), opt(ARGV[14]), opt(ARGV[15])
local origin = ARGV[16]
local nCallbacks, nTimers, nRemove, nConsumed =
  tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19]), tonumber(ARGV[20])
local at = 21
local callbacks, timers, removes, consumed = {}, {}, {}, {}
for i = 1, nCallbacks do callbacks[i] = ARGV[at]; at = at + 1 end
for i = 1, nTimers do timers[i] = { ARGV[at], ARGV[at + 1] }; at = at + 2 end
for i = 1, nRemove do removes[i] = ARGV[at]; at = at + 1 end
for i = 1, nConsumed do consumed[i] = ARGV[at]; at = at + 1 end

local fk = key('flow', flowId)
local f = redis.call('HMGET', fk, 'st', 'rev', 'ltok', 'lexp', 'lown', 'ck', 'rat', 'def', 'lerr')
if not f[1] then return { 'gone', {} } end
local held = leaseCheck(f[3], f[4], token, now)
if held ~= 'held' then return { 'lease', {}, held } end
if tonumber(f[2]) ~= revision then return { 'rev', {}, f[2] } end
local oldStatus, owner, ck, oldExpiry, oldReady, oldDefer, hadError = f[1], f[5], f[6], f[4], opt(f[7]), opt(f[8]), f[9]

-- Every check before the first write: a script that returns early has changed nothing.
local eventsKey, timersKey = key('events', flowId), key('timers', flowId)
for _, id in ipairs(consumed) do
  if not redis.call('ZSCORE', eventsKey, id) then return { 'consumed', {}, id } end
end
for _, id in ipairs(callbacks) do
  if redis.call('EXISTS', key('cb', id)) == 1 then return { 'callback', {}, id } end
end
local removed = {}
for _, id in ipairs(removes) do removed[id] = true end
for _, t in ipairs(timers) do
  if not removed[t[1]] and redis.call('ZSCORE', timersKey, t[1]) then return { 'timer', {}, t[1] } end
end

for _, id in ipairs(consumed) do dropEvent(flowId, id) end
if nRemove > 0 then
  for _, id in ipairs(removes) do
    redis.call('ZREM', timersKey, id)
    local cb = key('cb', id)
    local c = redis.call('HMGET', cb, 'flow', 'st')
    if c[1] == flowId and c[2] == 'waiting' then redis.call('HSET', cb, 'st', 'canceled') end
  end
  for _, id in ipairs(eventsOfWaits(flowId, removed)) do dropEvent(flowId, id) end
end
for _, id in ipairs(callbacks) do
  redis.call('HSET', key('cb', id), 'flow', flowId, 'st', 'waiting', 'cat', now)
  redis.call('SADD', key('cbs', flowId), id)
end
for _, t in ipairs(timers) do redis.call('ZADD', timersKey, t[2], t[1]) end

local newRevision = redis.call('HINCRBY', fk, 'rev', 1)
-- One HSET and at most one HDEL on the flow's hash, whatever the outcome: a checkpoint is a few
-- calls, not a dozen.
local set, del = { 'st', status, 'uat', now, 'att', 0 }, {}
if lerr ~= '' then set[#set + 1] = 'lerr'; set[#set + 1] = lerr elseif hadError then del[#del + 1] = 'lerr' end
-- Payload fields: 'k' keeps the stored value, 'n' clears it, anything else is the new value.
local function payload(field, value)
  if value == 'n' then
    del[#del + 1] = field
  elseif value ~= 'k' then
    set[#set + 1] = field
    set[#set + 1] = value
  end
end
payload('snap', snap)
payload('res', res)
payload('err', err)
payload('meta', meta)
if oldStatus ~= status then
  redis.call('ZREM', statusKey(oldStatus), ck)
  redis.call('ZADD', statusKey(status), 0, ck)
end

if finished then
  for _, id in ipairs(redis.call('SMEMBERS', key('cbs', flowId))) do
    local cb = key('cb', id)
    if redis.call('HGET', cb, 'st') == 'waiting' then redis.call('HSET', cb, 'st', 'canceled') end
  end
  redis.call('DEL', timersKey, eventsKey, key('evdata', flowId))
  set[#set + 1] = 'fat'
  set[#set + 1] = now
  if expiresAt then
    set[#set + 1] = 'xat'
    set[#set + 1] = expiresAt
    redis.call('ZADD', EXPIRING, expiresAt, flowId)
  end
  for _, field in ipairs({ 'ltok', 'lown', 'lexp', 'rat', 'def' }) do del[#del + 1] = field end
  redis.call('HSET', fk, unpack(set))
  redis.call('HDEL', fk, unpack(del))
  reindex(flowId, nil, nil)
  publish(origin, 'flow:' .. flowId, status)
  return { 'ok', published, newRevision, '', '', '', {} }
end

local firstTimer, firstEvent = firstScore(timersKey), firstScore(eventsKey)
local readyAt = earliest(earliest(runnableAt, firstTimer), firstEvent)
if readyAt and deferUntil then readyAt = latest(readyAt, deferUntil) end
if deferUntil then set[#set + 1] = 'def'; set[#set + 1] = deferUntil elseif oldDefer then del[#del + 1] = 'def' end

if keepUntil then
  -- Mirrors keptReadyAt and keptLeaseExpiry (src/store/shared/schedule.ts): a flow runnable since
  -- oldReady stays so, and the lease is renewed only once less than nine tenths of keepLeaseMs is
  -- left (old - now >= 0.9 (keepUntil - now), that is 10 old >= 9 keepUntil + now): then nothing
  -- moves in the scheduling index.
  if oldReady and readyAt and tonumber(oldReady) <= tonumber(readyAt) and tonumber(readyAt) <= tonumber(now) then
    readyAt = oldReady
  end
  if 10 * tonumber(oldExpiry) >= 9 * tonumber(keepUntil) + tonumber(now) then keepUntil = oldExpiry end
  if readyAt ~= oldReady then
    if readyAt then set[#set + 1] = 'rat'; set[#set + 1] = readyAt else del[#del + 1] = 'rat' end
  end
  if keepUntil ~= oldExpiry then set[#set + 1] = 'lexp'; set[#set + 1] = keepUntil end
  redis.call('HSET', fk, unpack(set))
  if #del > 0 then redis.call('HDEL', fk, unpack(del)) end
  if readyAt ~= oldReady or keepUntil ~= oldExpiry or not readyAt then reindex(flowId, readyAt, keepUntil) end
  -- The checkpoint fast path: with no event pending and no timer due, there is nothing to collect.
  local events = {}
  if firstEvent or (firstTimer and tonumber(firstTimer) <= tonumber(now)) then events = collectEvents(flowId, now) end
  return { 'ok', published, newRevision, readyAt or '', keepUntil, owner, events }
end
if readyAt then set[#set + 1] = 'rat'; set[#set + 1] = readyAt elseif oldReady then del[#del + 1] = 'rat' end
redis.call('HSET', fk, unpack(set))
del[#del + 1] = 'ltok'
del[#del + 1] = 'lown'
del[#del + 1] = 'lexp'
redis.call('HDEL', fk, unpack(del))
reindex(flowId, readyAt, nil)
if readyAt then publish(origin, 'work', readyAt) end
return { 'ok', published, newRevision, readyAt or '', '', '', {} }
