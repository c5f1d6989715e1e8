-- wrk script: GET /catalog with a different query on every request, read from the file named by
-- the QUERIES environment variable (one query string per line, e.g. "q=alpine+stove&in_stock=true").
-- Each wrk thread starts at its own offset and strides by the thread count, so no query repeats
-- until the whole file is used (the gateway's result caches then cannot answer from memory).
local queries = {}
local counter = 0
local threads = {}

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local file = assert(io.open(os.getenv("QUERIES"), "r"))
    for line in file:lines() do
        if #line > 0 then table.insert(queries, line) end
    end
    file:close()
    nqueries = #queries
    nthreads = tonumber(os.getenv("WRK_THREADS") or "2")
    position = id + 1
    errors = 0
    wrapped = 0
end

function request()
    local q = queries[position]
    position = position + nthreads
    if position > #queries then
        position = id + 1
        wrapped = wrapped + 1
    end
    return wrk.format("GET", "/catalog?" .. q .. "&limit=20")
end

function response(status, headers, body)
    if status ~= 200 then errors = errors + 1 end
end

function done(summary, latency, requests)
    local errs, wraps, n = 0, 0, 0
    for _, thread in ipairs(threads) do
        errs = errs + thread:get("errors")
        wraps = wraps + thread:get("wrapped")
        n = thread:get("nqueries")
    end
    io.write(string.format("search-errors %d\nquery-wraps %d\nqueries %d\n", errs, wraps, n))
end
