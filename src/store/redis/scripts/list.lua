-- listFlows: one page per source index (every flow, or one status each), after the cursor, with
-- the summary fields of each; the caller merges the sources in key order and cuts the page.
-- ARGV: order ("asc"/"desc"), count, cursor key ("" = from the start), statuses...
-- Reply: {"ok", {}, entries}, each {created key, st, rev, root, lerr, meta, cat, uat, fat, xat,
--        rat, lown, lexp} ("" for missing fields).
local order, count, cursor = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local sources = {}
if #ARGV > 3 then
  for i = 4, #ARGV do sources[#sources + 1] = statusKey(ARGV[i]) end
else
  sources[1] = CREATED
end
local out = {}
for _, source in ipairs(sources) do
  local members
  if order == 'asc' then
    local from = '-'
    if cursor ~= '' then from = '(' .. cursor end
    members = redis.call('ZRANGE', source, from, '+', 'BYLEX', 'LIMIT', 0, count)
  else
    local from = '+'
    if cursor ~= '' then from = '(' .. cursor end
    members = redis.call('ZRANGE', source, from, '-', 'BYLEX', 'REV', 'LIMIT', 0, count)
  end
  for _, member in ipairs(members) do
    local f = redis.call('HMGET', key('flow', string.sub(member, 17)),
      'st', 'rev', 'root', 'lerr', 'meta', 'cat', 'uat', 'fat', 'xat', 'rat', 'lown', 'lexp')
    local entry = { member }
    for i = 1, 12 do entry[i + 1] = f[i] or '' end
    out[#out + 1] = entry
  end
end
return { 'ok', {}, out }
