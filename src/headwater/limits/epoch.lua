-- End a rebuild (headwater.limits.redis_rebuild). KEYS[1]: the rebuild lock, KEYS[2]: the epoch
-- sentinel. If the lock still holds this rebuild's token ARGV[1]: set the sentinel to the new epoch
-- ARGV[2] (calls are admitted again; '' leaves it unset: the rebuild failed) and release the lock,
-- returning 1. Otherwise (the lock expired and another process may have taken over) 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2])
end
redis.call('DEL', KEYS[1])
return 1
