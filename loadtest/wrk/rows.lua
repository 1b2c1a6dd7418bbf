-- Pre-rendered request bodies for wrk (loadtest/wrk.ts): feature rows for the serving peers
-- (Open Inference Protocol JSON, or MLflow's dataframe_split), cycled in order from WRK_DATA.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local data, n, seq
function init()
  data = dofile(os.getenv("WRK_DATA"))
  n = #data
  seq = 0
end

function request()
  local s = seq
  seq = s + 1
  return wrk.format(nil, nil, nil, data[s % n + 1])
end
