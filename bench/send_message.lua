-- send_message.lua — POST /api/v1/leads/{id}/messages (an e-mail) until QUOTA answers have come
-- in over all threads (202: queued), to leads picked from LEADS. Each wrk thread stops after its share.
-- env: TOKEN (bearer token), LEADS (comma-separated lead ids with an e-mail), QUOTA, THREADS
local token = os.getenv("TOKEN") or ""
local leads = {}
for id in string.gmatch(os.getenv("LEADS") or "", "%d+") do leads[#leads + 1] = id end
local share = math.ceil(tonumber(os.getenv("QUOTA") or "5000") / tonumber(os.getenv("THREADS") or "2"))
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
local thread_no = 0
function setup(thread) thread_no = thread_no + 1; thread:set("seed", thread_no) end
local sent, answered = 0, 0
function init(args) math.randomseed(os.time() * 1000 + (seed or 0)) end

function request()
  sent = sent + 1
  local id = leads[math.random(#leads)]
  return wrk.format(nil, "/api/v1/leads/" .. id .. "/messages", nil,
    '{"channel":"email","subject":"Your quote","body":"Hello, here is the quote you asked for."}')
end

function response(status, headers, body)
  if status == 202 then answered = answered + 1 end
  if answered >= share then wrk.thread:stop() end
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f err_status=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), summary.errors.status))
end
