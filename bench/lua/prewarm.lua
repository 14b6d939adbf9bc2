-- Requests each of the first BENCH_CODES codes once (threads interleave), then stops: fills the caches.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
local nthreads = common.env_number("BENCH_THREADS", 2)
local i
setup = common.setup
done = common.done
function init(args) i = (tid or 1) - 1 end
function request()
  if i >= n then
    wrk.thread:stop()
    i = (tid or 1) - 1
  end
  local path = "/" .. common.code(i)
  i = i + nthreads
  return wrk.format("GET", path)
end
