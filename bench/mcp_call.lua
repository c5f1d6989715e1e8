-- wrk script: MCP tools/call search_catalog, revision 2026-07-28 (sessionless, so every request
-- stands alone and both servers answer application/json).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "search_catalog"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_catalog",'
    .. '"arguments":{"query":"tent","limit":10},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    .. '"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'

local errors = 0
function response(status, headers, body)
    if status ~= 200 or not string.find(body, '"result"', 1, true) then errors = errors + 1 end
end

function done(summary, latency, requests)
    io.write(string.format("mcp-errors %d\n", errors))
end
