-- Shared by the wrk scripts: the JSON summary line the harness parses (one per run).
local common = {}

function common.report(summary, latency, extra)
  local e = summary.errors
  local fields = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"connect_errors":%d', e.connect),
    string.format('"read_errors":%d', e.read),
    string.format('"write_errors":%d', e.write),
    string.format('"timeouts":%d', e.timeout),
    string.format('"non_2xx_3xx":%d', e.status),
    string.format('"p50_us":%d', latency:percentile(50)),
    string.format('"p90_us":%d', latency:percentile(90)),
    string.format('"p99_us":%d', latency:percentile(99)),
    string.format('"mean_us":%f', latency.mean),
    string.format('"max_us":%d', latency.max),
  }
  for name, value in pairs(extra or {}) do
    fields[#fields + 1] = string.format('"%s":%d', name, value)
  end
  io.write("BENCH_JSON {" .. table.concat(fields, ",") .. "}\n")
end

return common
