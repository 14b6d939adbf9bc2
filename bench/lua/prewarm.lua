-- Requests each of the first BENCH_CODES codes once (threads interleave), prints PREWARM_DONE per thread and
-- then repeats its last code until bench.py ends wrk with SIGINT: fills the caches.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local n = common.env_number("BENCH_CODES", 100000)
local nthreads = common.env_number("BENCH_THREADS", 2)
local i
local announced = false
setup = common.setup
done = common.done
function init(args) i = (tid or 1) - 1 end
function request()
  if i >= n then
    if not announced then
      announced = true
      io.write("PREWARM_DONE\n")
      io.stdout:flush()
    end
    return wrk.format("GET", "/livez")
  end
  local path = "/" .. common.code(i)
  i = i + nthreads
  return wrk.format("GET", path)
end
