-- create_paced.lua — create_lead.lua at a fixed rate: each connection waits PACE_MS between its
-- requests (wrk's delay()), so C connections send about C * 1000 / PACE_MS creates a second while
-- the server keeps up (less when an answer takes longer than the pause). wrk2's -R is not in wrk.
-- env: as create_lead.lua, plus PACE_MS (default 20). Run from the repository's root.
dofile("bench/create_lead.lua")
local pace = tonumber(os.getenv("PACE_MS") or "20")
function delay() return pace end
