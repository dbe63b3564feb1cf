"""Rate and quota limits: counters checked and charged on the gateway's hot path.

``base`` holds the contract (limits, charges, decisions, the ``Limiter`` protocol); ``memory`` is the
single-process backend, ``redis`` the shared one (one round trip per reserve and per settle), and
``failover`` puts a fallback behind a primary that may become unreachable.
"""
