--[[
save-step: records a finished recovery step, fenced by the owner's token.

KEYS[1]  the record's key
ARGV[1]  the owner's token
ARGV[2]  the step's name
ARGV[3]  the step's encoded result

Reply: 1 when recorded; 0 when the token does not hold the record.
Steps live in the record's own hash as fields "s:<name>", so they expire
with it and a take-over reads them in its claim.
]]
local key = KEYS[1]
local m = redis.call('HGET', key, 'm')
if not m then return 0 end
local st, tk = string.match(m, '^(%S+) (%d+) ')
if st ~= 'in_progress' or tk ~= ARGV[1] then return 0 end

redis.call('HSET', key, 's:' .. ARGV[2], ARGV[3])
return 1
