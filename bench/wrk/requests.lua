-- Requests for wrk from a file, one per line: METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY (TOKEN and
-- BODY may be empty). BENCH_REQUESTS names the file. BENCH_ONCE=1 sends each line once (a
-- booking's slot, a debit's key) and stops the thread when its share runs out; otherwise each
-- thread cycles through its share. Prints one JSON object at the end (read by bench/_wrk.py).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_REQUESTS")
  local once = os.getenv("BENCH_ONCE") == "1"
  local total = tonumber(os.getenv("BENCH_THREADS") or "1")
  requests = {}
  local n = 0
  for line in io.lines(path) do
    if n % total == id then
      local method, p, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      local headers = {}
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
      table.insert(requests, wrk.format(method, p, headers, body))
    end
    n = n + 1
  end
  index = 0
  sent = 0
  ok = 0
  client_errors = 0
  server_errors = 0
  stop_when_done = once
end

function request()
  index = index + 1
  if index > #requests then
    if stop_when_done then
      wrk.thread:stop()
      index = #requests
    else
      index = 1
    end
  end
  sent = sent + 1
  return requests[index]
end

function response(status, headers, body)
  if status < 400 then
    ok = ok + 1
  elseif status < 500 then
    client_errors = client_errors + 1
  else
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local ok_total, client_total, server_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    client_total = client_total + thread:get("client_errors")
    server_total = server_total + thread:get("server_errors")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "ok": %d, "status_4xx": %d, "status_5xx": %d, '
      .. '"socket_errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration, ok_total, client_total, server_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
