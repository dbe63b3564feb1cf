-- wrk script for bench/run.py: POST one fixed chat request.
--   BENCH_BODY  the JSON request body (required)
--   BENCH_KEY   an API key, sent as "Authorization: Bearer <key>" (optional)
-- The request is built once, so the script costs wrk nothing per request.
local body = os.getenv("BENCH_BODY")
if body == nil or body == "" then
  error("BENCH_BODY is not set")
end
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
