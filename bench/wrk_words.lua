-- wrk script for the search suite's "different words" scenario: every request
-- searches the next word of the file named by BENCH_WORDS (one per line), each
-- wrk thread starting at its own place, so that no answer is ever asked twice
-- within a run's reach of the app's answer cache. Reports like wrk_report.lua.

dofile(os.getenv("BENCH_REPORT_LUA"))

local report_init = init
local words = {}
for line in io.lines(os.getenv("BENCH_WORDS")) do
  if line ~= "" then table.insert(words, line) end
end

function init(args)
  report_init(args)
  position = (id or 1) * 997
end

function request()
  position = position + 1
  local word = words[(position % #words) + 1]
  return wrk.format("GET", "/search?q=" .. word)
end
