--[[
extend: renews the owner's lease (the heartbeat), fenced by its token.

KEYS[1]  the record's key
ARGV[1]  the owner's token
ARGV[2]  the new lease, in ms from now

Reply: 1 when renewed; 0 when the token does not hold the record.
The key's expiry moves out with the lease, so a running record never
vanishes under its owner.
]]
local key = KEYS[1]
local m = redis.call('HGET', key, 'm')
if not m then return 0 end
local st, tk, at, ca, ex = string.match(m, '^(%S+) (%d+) (%d+) %d+ (%d+) (%d+) ')
if st ~= 'in_progress' or tk ~= ARGV[1] then return 0 end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local leaseUntil = now + tonumber(ARGV[2])
local expires = math.max(tonumber(ex), leaseUntil)

redis.call('HSET', key, 'm', string.format(
  'in_progress %s %s %.0f %s %.0f 0 0', tk, at, leaseUntil, ca, expires))
redis.call('PEXPIREAT', key, string.format('%.0f', expires))
return 1
