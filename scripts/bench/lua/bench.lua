-- One method against a rotating list of paths, with an optional bearer token and JSON body.
-- Configured by the harness through the environment:
--   BENCH_METHOD (GET), BENCH_PATHS (a file, one path a line; default: the URL's path),
--   BENCH_TOKEN (sent as "Authorization: Bearer ..."), BENCH_BODY (sent as application/json),
--   BENCH_ORDER (rotate: the paths in turn; random: any one of them for each request).
-- Requests are formatted once in init(); request() only picks the next one.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local prepared = {}
local counter = 0
local thread_count = 0
local random_order = false

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  local token = os.getenv("BENCH_TOKEN")
  local headers = {}
  if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end
  if body and #body > 0 then headers["Content-Type"] = "application/json" else body = nil end
  local paths = {}
  local file = os.getenv("BENCH_PATHS")
  if file and #file > 0 then
    for line in io.lines(file) do
      if #line > 0 then paths[#paths + 1] = line end
    end
  end
  if #paths == 0 then paths[1] = wrk.path end
  for i, path in ipairs(paths) do
    prepared[i] = wrk.format(method, path, headers, body)
  end
  -- Threads start at different offsets so they do not walk the list in lockstep.
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  counter = (thread_index * math.floor(#prepared / threads)) % #prepared
  random_order = os.getenv("BENCH_ORDER") == "random"
  math.randomseed(thread_index + 1)
end

function request()
  if random_order then return prepared[math.random(#prepared)] end
  counter = counter % #prepared + 1
  return prepared[counter]
end

function done(summary, latency, requests)
  common.report(summary, latency)
end
