#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up, starting them when not.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 30); do pg_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:6379; starting it"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no || true
  for _ in $(seq 30); do redis_up && break; sleep 1; done
fi
pg_up && echo "PostgreSQL: up" || echo "PostgreSQL: DOWN (tests marked 'postgres' will fail)"
redis_up && echo "Redis: up" || echo "Redis: DOWN (tests marked 'redis' will fail)"
exit 0
