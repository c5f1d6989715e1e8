import Foundation
import HTTPServer
import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontMCP
@testable import StorefrontStore
import Testing

/// Runs a response produced later to completion, as the server would.
func settle(_ response: Response) -> Response {
    guard case .deferred(let produce) = response.body else { return response }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Response?
    produce { result = $0; done.signal() }
    done.wait()
    return settle(result!)
}

@Suite("MCP over Streamable HTTP", .serialized)
struct MCPTests {
    let gateway: Gateway
    init() throws { gateway = try Fixtures.gateway() }

    func post(_ body: JSON, headers: [(String, String)] = []) throws -> (Response, JSON?) {
        var all = [("Accept", "application/json, text/event-stream"), ("Content-Type", "application/json")]
        all += headers
        let response = settle(gateway.mcp.post(Request(method: "POST", path: "/mcp", headers: HTTPHeaders(all), body: body.serialized())))
        return (response, response.bodyBytes.isEmpty ? nil : try? JSON.parse(bytes: response.bodyBytes))
    }

    func initialize() throws -> String {
        let (response, _) = try post([
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": ["protocolVersion": "2025-11-25", "capabilities": [:], "clientInfo": ["name": "t", "version": "1"]],
        ])
        return try #require(response.headers["MCP-Session-Id"])
    }

    @Test("initialize negotiates the version and issues a session that later requests must carry")
    func session() throws {
        let id = try initialize()
        let (missing, _) = try post(["jsonrpc": "2.0", "id": 2, "method": "ping"])
        #expect(missing.status == 400)
        let (unknown, _) = try post(["jsonrpc": "2.0", "id": 2, "method": "ping"], headers: [("MCP-Session-Id", "mcp_nope")])
        #expect(unknown.status == 404)
        let (ok, body) = try post(["jsonrpc": "2.0", "id": 2, "method": "ping"], headers: [("MCP-Session-Id", id)])
        #expect(ok.status == 200)
        #expect(body?["result"] == [:])
        let ended = settle(gateway.mcp.delete(Request(method: "DELETE", path: "/mcp", headers: HTTPHeaders([("MCP-Session-Id", id)]))))
        #expect(ended.status == 204)
        let (after, _) = try post(["jsonrpc": "2.0", "id": 3, "method": "ping"], headers: [("MCP-Session-Id", id)])
        #expect(after.status == 404)
    }

    @Test("tools/list pages through every action exactly once")
    func toolPages() throws {
        let id = try initialize()
        var names: [String] = []
        var cursor: JSON?
        repeat {
            var params: [String: JSON] = [:]
            if let cursor { params["cursor"] = cursor }
            let (_, body) = try post(
                ["jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": .object(params)], headers: [("MCP-Session-Id", id)])
            names += body?["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            cursor = body?["result"]?["nextCursor"]
        } while cursor != nil
        #expect(names == gateway.actions.names)
    }

    @Test("invalid tool arguments are a tool error naming the JSON Pointer; an unknown tool is -32602")
    func toolErrors() throws {
        let id = try initialize()
        let (_, bad) = try post(
            ["jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": ["name": "get_quote", "arguments": ["items": [["product_id": "x", "quantity": 0]]]]],
            headers: [("MCP-Session-Id", id)])
        #expect(bad?["result"]?["isError"] == true)
        #expect(bad?["result"]?["structuredContent"]?["error"]?["param"] == "/items/0/quantity")
        let (_, unknown) = try post(
            ["jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": ["name": "nope"]], headers: [("MCP-Session-Id", id)])
        #expect(unknown?["error"]?["code"] == .int(RPCError.invalidParams))
    }

    @Test("malformed JSON is -32700 and a batch is refused")
    func malformed() throws {
        let response = settle(
            gateway.mcp.post(
                Request(
                    method: "POST", path: "/mcp",
                    headers: HTTPHeaders([("Accept", "application/json, text/event-stream")]), body: Array("{oops".utf8))))
        #expect(response.status == 400)
        #expect(try JSON.parse(bytes: response.bodyBytes)["error"]?["code"] == .int(RPCError.parseError))
        let (batch, body) = try post([["jsonrpc": "2.0", "id": 1, "method": "ping"]])
        #expect(batch.status == 400)
        #expect(body?["error"]?["code"] == .int(RPCError.invalidRequest))
    }

    @Test("a browser origin not on the allow-list is refused")
    func origin() throws {
        let (refused, _) = try post(["jsonrpc": "2.0", "id": 1, "method": "ping"], headers: [("Origin", "https://evil.example")])
        #expect(refused.status == 403)
        let (allowed, _) = try post(
            ["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": ["protocolVersion": "2025-11-25"]],
            headers: [("Origin", "http://localhost:3000")])
        #expect(allowed.status == 200)
    }

    func modern(_ method: String, params: [String: JSON] = [:], version: String = "2026-07-28", headers: [(String, String)]? = nil)
        throws -> (Response, JSON?)
    {
        var p = params
        p["_meta"] = [
            "io.modelcontextprotocol/protocolVersion": .string(version),
            "io.modelcontextprotocol/clientCapabilities": [:],
        ]
        var h = headers ?? [("MCP-Protocol-Version", version), ("Mcp-Method", method)]
        if headers == nil, let name = params["name"]?.stringValue ?? params["uri"]?.stringValue { h.append(("Mcp-Name", name)) }
        return try post(["jsonrpc": "2.0", "id": 9, "method": .string(method), "params": .object(p)], headers: h)
    }

    @Test("2026-07-28: sessionless requests get resultType, and cacheable results get ttlMs and cacheScope")
    func modernResults() throws {
        let (discover, body) = try modern("server/discover")
        #expect(discover.status == 200)
        #expect(body?["result"]?["supportedVersions"] == ["2026-07-28"])
        let (_, call) = try modern("tools/call", params: ["name": "get_policies", "arguments": ["topic": "refunds"]])
        #expect(call?["result"]?["resultType"] == "complete")
        #expect(call?["result"]?["structuredContent"]?["policies"]?["refunds"] != nil)
        let (_, list) = try modern("tools/list")
        #expect(list?["result"]?["cacheScope"] == "public")
    }

    @Test("2026-07-28: headers that disagree with the body are -32020; an unknown version -32022; an unknown method 404")
    func modernLadder() throws {
        let (mismatch, body) = try modern(
            "tools/call", params: ["name": "get_policies"],
            headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "search_catalog")])
        #expect(mismatch.status == 400)
        #expect(body?["error"]?["code"] == .int(RPCError.headerMismatch))
        let (wrongMethod, _) = try modern("tools/list", headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call")])
        #expect(wrongMethod.status == 400)
        let (old, oldBody) = try modern("tools/list", version: "2099-01-01")
        #expect(old.status == 400)
        #expect(oldBody?["error"]?["code"] == .int(RPCError.unsupportedVersion))
        #expect(oldBody?["error"]?["data"]?["supported"] == ["2026-07-28"])
        let (unknown, unknownBody) = try modern("nothing/here")
        #expect(unknown.status == 404)
        #expect(unknownBody?["error"]?["code"] == .int(RPCError.methodNotFound))
    }
}

@Suite("Accept headers")
struct AcceptHeaderTests {
    func accepts(_ header: String?, _ type: String) -> Bool {
        MCPEndpoint.accepts(
            Request(method: "POST", path: "/mcp", headers: HTTPHeaders(header.map { [("Accept", $0)] } ?? [])), type)
    }

    @Test("media ranges match by type, case-insensitively, with parameters and wildcards")
    func mediaRanges() {
        #expect(accepts("application/json, text/event-stream", "application/json"))
        #expect(accepts("application/json, text/event-stream", "text/event-stream"))
        #expect(accepts("Application/JSON;q=0.9 ,TEXT/event-stream ; q=1", "text/event-stream"))
        #expect(accepts("*/*", "text/event-stream"))
        #expect(accepts("text/*;q=0.5", "text/event-stream"))
        #expect(!accepts("application/json", "text/event-stream"))
        #expect(!accepts("application/json-seq", "application/json"))
        #expect(!accepts("text/event-stream-x", "text/event-stream"))
        #expect(!accepts("application/*", "text/event-stream"))
        #expect(accepts("TEXT/*", "text/event-stream"))
        #expect(!accepts("tex/*", "text/event-stream") && !accepts("text/event/*", "text/event-stream"))
        #expect(!accepts("", "application/json"))
        #expect(!accepts(",,", "application/json"))
        #expect(!accepts(nil, "application/json"))
    }
}
