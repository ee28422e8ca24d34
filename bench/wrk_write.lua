-- wrk script for the write suite: signed-in members post replies, CSRF included.
--
-- BENCH_WRK_IDENTITIES names a file of "cookie<TAB>csrf token<TAB>reply path" lines:
-- a member's session (signed in through the real form), the CSRF token bound to
-- that session, and the thread to reply to. Each request takes the next line, so
-- every member posts into every thread. Every reply's text is unique.
--
-- BENCH_WRK_LOCATIONS names the file done() writes the Location of every 303 to,
-- one per line: the posts the server confirmed, which the harness then looks for
-- in the database (zero lost posts).
--
-- BENCH_WRK_REFUSED names the file done() writes, for every status other than 303,
-- the body of the first such answer (a status line "=== <status>", then the body):
-- why a reply was refused.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local identities = {}
for line in io.lines(os.getenv("BENCH_WRK_IDENTITIES")) do
  local cookie, token, path = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
  if cookie then table.insert(identities, {cookie = cookie, token = token, path = path}) end
end

local TEXT = "Thanks, this matches what we saw at our mutual last year (reply %d-%d). " ..
  "We asked the council for the **tender terms in writing** before agreeing to a bond, " ..
  "and the [guidance](https://example.org/guidance) helped.\n\n" ..
  "- check the contract value first\n- ask for a *performance* clause instead"

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  statuses = {}
  locations = {}
  refused = {}
  sent = 0
end

function request()
  sent = sent + 1
  local who = identities[((id - 1) * 3 + sent) % #identities + 1]
  local body = "csrf_token=" .. urlencode(who.token) ..
    "&body=" .. urlencode(string.format(TEXT, id, sent))
  return wrk.format("POST", who.path, {
    ["Cookie"] = who.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  count_status(status)
  if status == 303 then
    local where = headers["location"] or headers["Location"]
    if where then table.insert(locations, where) end
  elseif refused[status] == nil then
    refused[status] = body or ""
  end
end

function done(summary, latency, requests)
  report(summary, latency)
  local out = assert(io.open(os.getenv("BENCH_WRK_LOCATIONS"), "w"))
  for _, thread in ipairs(bench_threads) do
    for _, where in ipairs(thread:get("locations") or {}) do out:write(where, "\n") end
  end
  out:close()
  local kept = {}
  local bodies = assert(io.open(os.getenv("BENCH_WRK_REFUSED"), "w"))
  for _, thread in ipairs(bench_threads) do
    for status, body in pairs(thread:get("refused") or {}) do
      if not kept[status] then
        kept[status] = true
        bodies:write("=== ", status, "\n", body, "\n")
      end
    end
  end
  bodies:close()
end
