-- Correct reserved amounts by (actual - reserved) (headwater.limits.redis). Never below zero.
-- KEYS[i]: counter i; the last key: the epoch sentinel. ARGV[1]: now in epoch seconds, or '' to use
-- the server's TIME. ARGV[2]: the epoch the reservations were made in.
-- ARGV[4i-1 .. 4i+2]: delta, actual, window_s (0 for a period), then the bucket index (rolling) or
-- period_end (period). A bucket that has left the window, or a period that has ended, is left alone.
-- Sentinel missing (the counters are lost, a rebuild will count this call from its usage event):
-- nothing is done. Another epoch (the reservation was lost, the rebuild did not see this call): the
-- actual amount is added instead of the delta.
-- The rolling counter layout ('t', 'o', 'n' and bucket fields) is described in reserve.lua.
local current = redis.call('GET', KEYS[#KEYS])
if not current then
  return 0
end
local earlier_epoch = current ~= ARGV[2]
local now = clock(ARGV[1])
for i = 1, #KEYS - 1 do
  local a = 4 * i - 1
  local key, delta, window, x = KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  if earlier_epoch then
    delta = tonumber(ARGV[a + 1])
  end
  if delta == 0 then
    -- nothing to correct
  elseif window > 0 then
    local b = math.min(window, 60)
    local bl = window / b
    local low = math.floor(now / bl) - b
    local f = ARGV[a + 3]
    if x > low then
      local m = redis.call('HMGET', key, 't', 'o', 'n', f)
      local total, o, n, here = tonumber(m[1]) or 0, tonumber(m[2]), tonumber(m[3]) or -1, tonumber(m[4]) or 0
      local v = here + delta
      if o == nil then
        -- No counter (a zero reservation, say): start one with this bucket.
        if delta > 0 then
          redis.call('HSET', key, f, delta, 't', delta, 'o', low, 'n', x)
          redis.call('EXPIRE', key, math.ceil(window + bl))
        end
      elseif x <= o then
        -- Already dropped: out of the window.
      elseif v > 0 then
        if x > n then
          n = x
        end
        redis.call('HSET', key, f, v, 't', total + v - here, 'n', n)
        if here == 0 then
          redis.call('EXPIRE', key, math.ceil(window + bl), 'GT')
        end
      elseif here > 0 then
        total = total - here
        if total <= 0 then
          redis.call('DEL', key)
        else
          redis.call('HDEL', key, f)
          if x == n then
            n = -1
            for _, name in ipairs(redis.call('HKEYS', key)) do
              local j = tonumber(name)
              if j and j > n then
                n = j
              end
            end
          end
          redis.call('HSET', key, 't', total, 'n', n)
        end
      end
    end
  elseif now < x then
    local v = redis.call('INCRBY', key, delta)
    if v <= 0 then
      redis.call('DEL', key)
    else
      redis.call('EXPIRE', key, math.ceil(x + 60 - now), 'NX')
    end
  end
end
return 1
