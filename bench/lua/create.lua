-- POST /api/links with a JSON body (generated code), authenticated with BENCH_KEY.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local key = os.getenv("BENCH_KEY")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
local counter = 0
setup = common.setup
done = common.done
delay = common.delay
function init(args) common.seed() end
function request()
  counter = counter + 1
  local body = string.format('{"url":"https://example.com/bench/%d/%d/%d"}', tid or 0, counter, math.random(0, 1000000000))
  return wrk.format("POST", "/api/links", headers, body)
end
