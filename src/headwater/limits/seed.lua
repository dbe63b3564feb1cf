-- Add rebuilt amounts to counters, without a capacity check (headwater.limits.redis).
-- KEYS[1]: a guard key, KEYS[i + 1]: counter i. ARGV[1]: the value the guard must hold (the rebuild
-- lock's token, or the epoch for a late catch-up), else nothing is written and 0 is returned.
-- ARGV[2]: milliseconds to extend the guard's expiry by ('' to leave it). ARGV[3]: now in epoch
-- seconds, or '' to use the server's TIME. ARGV[3i + 1 .. 3i + 3]: amount, window_s (0 for a period),
-- then the bucket index (rolling) or period_end (period). Buckets that have left the window and
-- periods that have ended are skipped; a bucket ahead of now counts in the current one.
-- The rolling counter layout ('t', 'o', 'n' and bucket fields) is described in reserve.lua; like a
-- reserve, a seed first drops the buckets that have left the window, so the layout's rules hold.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local now = clock(ARGV[3])
for i = 2, #KEYS do
  local a = 3 * i - 2
  local key, amount, window, x = KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if amount <= 0 then
    -- nothing to add
  elseif window > 0 then
    local b = math.min(window, 60)
    local bl = window / b
    local cur = math.floor(now / bl)
    local low = cur - b
    local slot = math.min(x, cur)
    if slot > low then
      local total, here, o, n = window_state(key, slot, low, b)
      if slot > n then
        n = slot
      end
      redis.call('HSET', key, field(slot), here + amount, 't', total + amount, 'o', o, 'n', n)
      local ttl = math.ceil(window + bl)
      if redis.call('TTL', key) < ttl then
        redis.call('EXPIRE', key, ttl)
      end
    end
  elseif now < x then
    redis.call('INCRBY', key, amount)
    redis.call('EXPIRE', key, math.ceil(x + 60 - now), 'NX')
  end
end
return 1
