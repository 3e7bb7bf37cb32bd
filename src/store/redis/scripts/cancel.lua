-- requestCancel: at most one pending cancel event per flow.
-- ARGV: flowId, tagged payload ("" = none), now, origin.
-- Reply: {"ok", published, outcome, eventId} or {"noflow", {}}.
local flowId, payload, now, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local status = redis.call('HGET', key('flow', flowId), 'st')
if not status then return { 'noflow', {} } end
if status == 'succeeded' or status == 'faulted' or status == 'canceled' then
  return { 'ok', {}, 'finished', '' }
end
local ids = redis.call('ZRANGE', key('events', flowId), 0, -1)
if #ids > 0 then
  local headers = hmget(key('evdata', flowId), ids)
  for i, header in ipairs(headers) do
    if header and string.sub(header, 1, 7) == 'cancel|' then return { 'ok', {}, 'pending', ids[i] } end
  end
end
if payload == '' then payload = nil end
local seq = addEvent(flowId, 'cancel', nil, payload, now)
wakeForEvent(flowId, now, origin)
publish(origin, 'flow:' .. flowId, 'cancel-requested')
return { 'ok', published, 'requested', seq }
