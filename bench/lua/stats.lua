-- GET /api/links/{code}/stats for a random code among BENCH_CODES seeded codes.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY") }
setup = common.setup
done = common.done
delay = common.delay
function init(args) common.seed() end
function request()
  return wrk.format("GET", "/api/links/" .. common.code(math.random(0, n - 1)) .. "/stats", headers)
end
