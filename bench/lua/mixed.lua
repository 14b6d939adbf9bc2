-- BENCH_CREATE_PCT % creates (POST /api/links), the rest redirects among BENCH_CODES seeded codes; 100 is the create scenario.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
local create_pct = common.env_number("BENCH_CREATE_PCT", 5)
local key = os.getenv("BENCH_KEY")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
local counter = 0
setup = common.setup
done = common.done
delay = common.delay
function init(args) common.seed() end
function request()
  if math.random() * 100 < create_pct then
    counter = counter + 1
    local body = string.format('{"url":"https://example.com/mixed/%d/%d/%d"}', tid or 0, counter, math.random(0, 1000000000))
    return wrk.format("POST", "/api/links", headers, body)
  end
  return wrk.format("GET", "/" .. common.code(math.random(0, n - 1)))
end
