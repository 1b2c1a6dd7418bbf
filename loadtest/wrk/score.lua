-- POST /v1/score traffic for wrk (loadtest/wrk.ts): the synthetic traffic's templates are
-- pre-generated in WRK_DATA; per request only a unique transactionId (WRK_TAG, thread,
-- sequence), the user (prefixed per run, thread and pass: fresh windows) and the
-- timestamp (now + the template's offset) are put together.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local data, n, seq, tag, users
function init()
  data = dofile(os.getenv("WRK_DATA"))
  n = #data
  seq = 0
  tag = os.getenv("WRK_TAG") .. "-" .. tid .. "-"
  -- Users of this run are its own (their windows start empty), per thread and per pass.
  users = os.getenv("WRK_TAG") .. "t" .. tid .. "p"
end

function request()
  local s = seq
  seq = s + 1
  local t = data[s % n + 1]
  if t[1] == false then return wrk.format(nil, nil, nil, t[3]) end
  local user = ""
  if t[1] ~= "" then
    user = '"userId":"' .. users .. math.floor(s / n) .. "-" .. t[1] .. '",'
  end
  local body = '{"transactionId":"' .. tag .. s .. '",' .. user .. '"timestamp":' ..
    string.format("%.0f", os.time() * 1000 + t[2]) .. "," .. t[3] .. "}"
  return wrk.format(nil, nil, nil, body)
end
