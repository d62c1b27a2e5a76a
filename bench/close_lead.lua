-- close_lead.lua — POST /api/v1/leads/{id}/close, every request a different open lead.
-- env: TOKEN (bearer token of an admin), IDS (a file of open lead ids, one a line). Thread k of
-- wrk's threads takes the ids at positions k, k + threads, ... so no lead is closed twice; every
-- third close is lost (reason LOST_REASON, default 1), the others won.
local token = os.getenv("TOKEN") or ""
local reason = os.getenv("LOST_REASON") or "1"
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

local nthreads = 0
function setup(thread) nthreads = nthreads + 1; thread:set("tno", nthreads) end
local ids, at, step = {}, 0, 1
function init(args)
  local f = io.open(os.getenv("IDS") or "", "r")
  if f then for line in f:lines() do if #line > 0 then ids[#ids + 1] = line end end f:close() end
  step = tonumber(os.getenv("WRK_THREADS") or "2")
  at = (tno or 1) - step
end

function request()
  at = at + step
  local id = ids[at] or ids[1]
  local body = '{"outcome":"won"}'
  if at % 3 == 0 then body = '{"outcome":"lost","reason_id":' .. reason .. ',"notes":"bench","follow_up":null}' end
  return wrk.format(nil, "/api/v1/leads/" .. id .. "/close", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f err_status=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status))
end
