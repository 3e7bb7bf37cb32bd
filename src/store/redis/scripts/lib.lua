-- dtasks Redis store: helpers prepended to every script (see scripts.ts).
--
-- Each script runs as `#!lua` (or `#!lua flags=no-writes` for reads): Redis refuses a writing
-- script when it is out of memory before the script starts, never halfway through its writes.
--
-- KEYS[1] is the store's key prefix (ioredis adds the client's own keyPrefix to it). Keys are built
-- from it here, so every script declares one key: the store needs a standalone server (or a
-- single-shard deployment), not Redis Cluster.
--
-- Times are the caller's `now` (never Redis TIME), passed and stored as decimal strings exactly
-- as JavaScript printed them. Scripts only compare them (tonumber is exact for doubles) and pick
-- one of them, never compute new ones, so a stored time is always bit-identical to the given one.
-- Replies never contain Lua false/nil (RESP2 and RESP3 disagree on them): "" stands for null.

local P = KEYS[1]
local READY = P .. 'ready'        -- zset: unleased runnable-later flows, score readyAt
local LEASED = P .. 'leased'      -- zset: leased flows with a readyAt, score max(readyAt, lease expiry)
local EXPIRING = P .. 'expiring'  -- zset: finished flows with a retention deadline, score expiresAt
local CREATED = P .. 'created'    -- zset (lex): every flow, member = createdAt key .. id
local SEQ = P .. 'seq'            -- string: the event id counter

local function key(family, id)
  return P .. family .. ':' .. id
end

local function statusKey(status)
  return P .. 'status:' .. status
end

-- false (a missing field) and "" (no value given) are both "no time".
local function opt(v)
  if v == false or v == nil or v == '' then return nil end
  return v
end

local function earliest(a, b)
  if a == nil then return b end
  if b == nil then return a end
  if tonumber(b) < tonumber(a) then return b end
  return a
end

local function latest(a, b)
  if a == nil then return b end
  if b == nil then return a end
  if tonumber(b) > tonumber(a) then return b end
  return a
end

-- HMGET of any number of fields (unpack() stops at a few thousand arguments).
local function hmget(k, fields)
  local out = {}
  for i = 1, #fields, 1000 do
    local chunk = redis.call('HMGET', k, unpack(fields, i, math.min(i + 999, #fields)))
    for j = 1, #chunk do out[i + j - 1] = chunk[j] end
  end
  return out
end

local function firstScore(k)
  local r = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  return r[2]
end

-- Mirrors checkLease() in src/store/shared/schedule.ts.
local function leaseCheck(tok, lexp, token, now)
  if not tok then return 'none' end
  if tok ~= token then return 'stolen' end
  if tonumber(lexp) > tonumber(now) then return 'held' end
  return 'expired'
end

-- Puts a flow in the one scheduling index its state calls for: READY when unleased with a
-- readyAt, LEASED (scored by when it becomes claimable again) when leased with a readyAt,
-- neither when nothing but a callback can wake it or it finished. claim and nextWakeAt read
-- only these two indexes.
local function reindex(id, readyAt, leaseExpiresAt)
  if readyAt == nil then
    redis.call('ZREM', READY, id)
    redis.call('ZREM', LEASED, id)
  elseif leaseExpiresAt == nil then
    redis.call('ZREM', LEASED, id)
    redis.call('ZADD', READY, readyAt, id)
  else
    redis.call('ZREM', READY, id)
    redis.call('ZADD', LEASED, latest(readyAt, leaseExpiresAt), id)
  end
end

-- Messages published by this script, as a flat channel/message list for the caller's own
-- listeners (the subscriber connection drops messages tagged with the caller's origin).
local published = {}
local function publish(origin, channel, message)
  redis.call('PUBLISH', P .. channel, origin .. ':' .. message)
  published[#published + 1] = channel
  published[#published + 1] = message
end

-- Events of a flow: zset events:<flow> (member = event id, score = at) and hash evdata:<flow>
-- (<id> = "kind|waitId", <id>p = the tagged payload, absent when null).
local function addEvent(flowId, kind, waitId, payload, at)
  local seq = tostring(redis.call('INCR', SEQ))
  redis.call('ZADD', key('events', flowId), at, seq)
  local data = key('evdata', flowId)
  if payload then
    redis.call('HSET', data, seq, kind .. '|' .. (waitId or ''), seq .. 'p', payload)
  else
    redis.call('HSET', data, seq, kind .. '|' .. (waitId or ''))
  end
  return seq
end

local function dropEvent(flowId, seq)
  redis.call('ZREM', key('events', flowId), seq)
  redis.call('HDEL', key('evdata', flowId), seq, seq .. 'p')
end

-- Turns the due timers into events (due order), then lists every pending event as a flat
-- id, header, at, payload list (the caller sorts by at, then id).
local function collectEvents(flowId, now)
  local timers = key('timers', flowId)
  local due = redis.call('ZRANGE', timers, '-inf', now, 'BYSCORE', 'WITHSCORES')
  for i = 1, #due, 2 do
    addEvent(flowId, 'timer', due[i], nil, due[i + 1])
  end
  if #due > 0 then redis.call('ZREMRANGEBYSCORE', timers, '-inf', now) end
  local events = redis.call('ZRANGE', key('events', flowId), 0, -1, 'WITHSCORES')
  local out = {}
  if #events == 0 then return out end
  local fields = {}
  for i = 1, #events, 2 do
    fields[#fields + 1] = events[i]
    fields[#fields + 1] = events[i] .. 'p'
  end
  local data = hmget(key('evdata', flowId), fields)
  for i = 1, #events, 2 do
    out[#out + 1] = events[i]
    out[#out + 1] = data[i] or ''
    out[#out + 1] = events[i + 1]
    out[#out + 1] = data[i + 1] or ''
  end
  return out
end

-- Event ids whose header names one of the given wait ids (a set: id -> true).
local function eventsOfWaits(flowId, waits)
  local found = {}
  local ids = redis.call('ZRANGE', key('events', flowId), 0, -1)
  if #ids == 0 then return found end
  local headers = hmget(key('evdata', flowId), ids)
  for i, header in ipairs(headers) do
    if header then
      local bar = string.find(header, '|', 1, true)
      if bar and waits[string.sub(header, bar + 1)] then found[#found + 1] = ids[i] end
    end
  end
  return found
end

-- Readies a flow for an event that arrived at `at` (see readyAtAfterEvent in shared/schedule.ts)
-- and announces work when no live lease holds the flow.
local function wakeForEvent(flowId, at, origin)
  local fk = key('flow', flowId)
  local f = redis.call('HMGET', fk, 'rat', 'def', 'ltok', 'lexp')
  local def = opt(f[2])
  local eventReady = at
  if def then eventReady = latest(at, def) end
  local readyAt = earliest(opt(f[1]), eventReady)
  redis.call('HSET', fk, 'rat', readyAt)
  local lexp = nil
  if f[3] then lexp = f[4] end
  reindex(flowId, readyAt, lexp)
  if lexp == nil or tonumber(lexp) <= tonumber(at) then publish(origin, 'work', readyAt) end
end
