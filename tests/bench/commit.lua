-- tests/bench/commit.lua: wrk script for Floe's commit benchmark.
--
-- Every request is an updateTable POST of one set-properties update with a
-- fresh key and no requirements (the shape of Polaris's benchmark), spread
-- over BENCH_TABLES tables named <BENCH_PATH><i>, i = 0..BENCH_TABLES-1,
-- picked at random per request to keep contention on any one row low.
--
--   BENCH_PATH=/api/catalog/v1/bench/namespaces/ns/tables/c BENCH_TABLES=32 \
--       wrk -t2 -c8 -d10s -s tests/bench/commit.lua http://127.0.0.1:PORT

local path = os.getenv("BENCH_PATH") or "/api/catalog/v1/bench/namespaces/ns/tables/c"
local ntables = tonumber(os.getenv("BENCH_TABLES") or "32")
local run = os.getenv("BENCH_RUN") or "r"
local headers = { ["Content-Type"] = "application/json" }
-- run.sh exports the bench principal's token
if os.getenv("BENCH_TOKEN") then
    headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
local nthreads = 0
local n = 0
-- tid is a global: setup() sets it in each thread's own Lua state.
tid = 0

function setup(thread)
    thread:set("tid", nthreads)
    nthreads = nthreads + 1
end

function init(args)
    math.randomseed(os.time() * 1000 + tid * 7919)
end

function request()
    n = n + 1
    local t = math.random(0, ntables - 1)
    local body = string.format(
        '{"updates":[{"action":"set-properties","updates":{"bench.%s.%d.%d":"%d"}}]}',
        run, tid, n, n)
    return wrk.format("POST", path .. t, headers, body)
end
