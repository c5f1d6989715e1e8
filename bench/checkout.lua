-- wrk script: complete_checkout over REST, each request a different ready checkout of one of many
-- agents, with a fresh Idempotency-Key. The pairs come from the file named by CHECKOUTS.
local pairs_file = os.getenv("CHECKOUTS")
local items = {}
for line in io.lines(pairs_file) do
    local key, checkout = line:match("^(%S+) (%S+)$")
    if key then items[#items + 1] = {key, checkout} end
end

local counter = 0
local thread_index = 0
local threads = {}

function setup(thread)
    thread:set("offset", thread_index)
    thread_index = thread_index + 1
    table.insert(threads, thread)
end

function init(args)
    counter = offset
    stride = tonumber(os.getenv("WRK_THREADS") or "2")
    failures = 0
    completed = 0
end

-- VIA=mcp sends the same purchase as an MCP tools/call (revision 2026-07-28) to /mcp, the
-- idempotency key in _meta.
local via_mcp = os.getenv("VIA") == "mcp"

function request()
    local item = items[(counter % #items) + 1]
    counter = counter + stride
    if via_mcp then
        local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"complete_checkout",'
            .. '"arguments":{"checkout_id":"' .. item[2] .. '"},'
            .. '"_meta":{"idempotencyKey":"bench-mcp-' .. item[2] .. '",'
            .. '"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
            .. '"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
        return wrk.format("POST", "/mcp", {
            ["Authorization"] = "Bearer " .. item[1],
            ["Content-Type"] = "application/json",
            ["Accept"] = "application/json, text/event-stream",
            ["MCP-Protocol-Version"] = "2026-07-28",
            ["Mcp-Method"] = "tools/call",
            ["Mcp-Name"] = "complete_checkout",
        }, body)
    end
    return wrk.format("POST", "/tools/complete_checkout", {
        ["Authorization"] = "Bearer " .. item[1],
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = "bench-" .. item[2],
    }, '{"checkout_id":"' .. item[2] .. '"}')
end

function response(status, headers, body)
    if status == 200 and string.find(body, '"status":"completed"', 1, true) then
        completed = completed + 1
    else
        failures = failures + 1
    end
end

function done(summary, latency, requests)
    local total_completed, total_failures = 0, 0
    for _, thread in ipairs(threads) do
        total_completed = total_completed + thread:get("completed")
        total_failures = total_failures + thread:get("failures")
    end
    io.write(string.format("checkout-completed %d\ncheckout-failures %d\n", total_completed, total_failures))
end
