-- get_lead.lua — GET /api/v1/leads/{id} for random ids 1..N.
-- env: TOKEN (bearer token; use an admin so every lead is visible), MAXID (highest id, default 1000000)
local token = os.getenv("TOKEN") or ""
local n = tonumber(os.getenv("MAXID") or "1000000")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

local thread_no = 0
function setup(thread) thread_no = thread_no + 1; thread:set("seed", thread_no) end
function init(args) math.randomseed(os.time() * 1000 + (seed or 0)) end

function request()
  return wrk.format("GET", "/api/v1/leads/" .. math.random(1, n))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
