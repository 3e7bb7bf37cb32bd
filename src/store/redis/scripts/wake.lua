-- nextWakeAt: the earliest readyAt of an unleased flow, or max(readyAt, lease expiry) of a
-- leased one: the first entry of each scheduling index.
-- Reply: the time, or "" when nothing is scheduled.
return earliest(firstScore(READY), firstScore(LEASED)) or ''
