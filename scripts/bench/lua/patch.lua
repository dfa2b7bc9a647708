-- PATCH /api/v1/tasks/{id} with If-Match carrying each task's current ETag.
--
-- wrk does not say which connection a response came from, so each thread keeps a pool of free
-- tasks (id -> current ETag): request() takes one out, response() reads the task id from the
-- body and the new ETag from the header and puts the task back. A task is therefore never in
-- flight twice, and every request names the version the server has now; a 412 would mean the
-- bookkeeping is wrong, and the harness reports it as an error. The pool must hold more tasks
-- than the thread has connections; a thread whose pool runs dry sends a "starved" request (a GET
-- of a task that does not exist, so that wrk keeps going) and the harness marks the run invalid.
--
-- Environment: BENCH_TOKEN, BENCH_TASKS (a file of "id etag" lines, the etag with its quotes),
-- BENCH_BODY (the JSON patch), BENCH_THREADS (wrk's -t), BENCH_PREFIX (/api/v1/tasks/).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

local free = {} -- a queue of the ids of tasks not in flight
local head, tail = 1, 0
local etags = {}
local in_flight = {}
local prefix, token, body
local missing = "00000000-0000-0000-0000-000000000000"
starved = 0
unmatched = 0

local function push(id)
  tail = tail + 1
  free[tail] = id
end

function init(args)
  prefix = os.getenv("BENCH_PREFIX") or "/api/v1/tasks/"
  token = os.getenv("BENCH_TOKEN")
  body = os.getenv("BENCH_BODY") or '{"status":"in_progress"}'
  local total = tonumber(os.getenv("BENCH_THREADS") or "1")
  local index = 0
  for line in io.lines(os.getenv("BENCH_TASKS")) do
    local id, etag = line:match("^(%S+)%s+(%S+)$")
    if id then
      if index % total == thread_index then
        etags[id] = etag
        push(id)
      end
      index = index + 1
    end
  end
end

function request()
  if head > tail then
    starved = starved + 1
    return wrk.format("GET", prefix .. missing, {["Authorization"] = "Bearer " .. token})
  end
  local id = free[head]
  free[head] = nil
  head = head + 1
  in_flight[id] = true
  return wrk.format("PATCH", prefix .. id, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = etags[id],
  }, body)
end

function response(status, headers, response_body)
  -- A 200 carries the task (its "id" comes first); a 412 names the task in its "instance".
  local id = response_body:match('"id"%s*:%s*"([%x%-]+)"')
    or response_body:match("/tasks/([%x%-]+)")
  if id and in_flight[id] then
    in_flight[id] = nil
    etags[id] = headers["etag"] or headers["ETag"] or etags[id]
    push(id)
  elseif id ~= missing then
    unmatched = unmatched + 1
  end
end

function done(summary, latency, requests)
  local total_starved, total_unmatched = 0, 0
  for _, thread in ipairs(threads) do
    total_starved = total_starved + (thread:get("starved") or 0)
    total_unmatched = total_unmatched + (thread:get("unmatched") or 0)
  end
  common.report(summary, latency, {starved = total_starved, unmatched = total_unmatched})
end
