-- Read counters without writing anything (headwater.limits.redis): what a reserve of nothing would
-- count, for the quota API. KEYS[i]: counter i; the last key: the epoch sentinel. ARGV[1]: now in
-- epoch seconds, or '' to use the server's TIME. ARGV[2i], ARGV[2i + 1]: counter i's window_s (0 for
-- a period) and period_end (0 when rolling).
-- Returns 'lost' when the sentinel is missing (the counters must be rebuilt first, as for a
-- reserve). Otherwise one string of space-separated values: now ('%.17g'), then per counter: used,
-- the oldest and the newest non-empty bucket in the window (-1: none; a period uses 0).
--
-- A rolling counter (layout in reserve.lua) is read bucket by bucket over the window, (cur - b,
-- cur]: buckets that have left the window but were not dropped yet are not counted, exactly as a
-- reserve would drop them first.
if not redis.call('GET', KEYS[#KEYS]) then
  return 'lost'
end
local now = clock(ARGV[1])
local out = {string.format('%.17g', now)}
for i = 1, #KEYS - 1 do
  local window, stop = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local used, oldest, newest = 0, -1, -1
  if window > 0 then
    local b = math.min(window, 60)
    local cur = math.floor(now / (window / b))
    local low = cur - b
    local names = {}
    for j = low + 1, cur do
      names[#names + 1] = field(j)
    end
    local values = redis.call('HMGET', KEYS[i], unpack(names))
    for k = 1, #names do
      local v = tonumber(values[k])
      if v and v > 0 then
        used = used + v
        if oldest < 0 then
          oldest = low + k
        end
        newest = low + k
      end
    end
  elseif now < stop then
    used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used > 0 then
      oldest, newest = 0, 0
    end
  end
  out[#out + 1] = field(used)
  out[#out + 1] = field(oldest)
  out[#out + 1] = field(newest)
end
return table.concat(out, ' ')
