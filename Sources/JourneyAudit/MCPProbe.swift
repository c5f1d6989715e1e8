import Foundation
import JSON

/// A live MCP handshake as a client would make it, in both revisions the audit knows: 2025-11-25
/// (`initialize`, then `notifications/initialized`, with or without an `Mcp-Session-Id` — a
/// stateless server gives none) and 2026-07-28 (`server/discover`, per-request `_meta` and the
/// `MCP-Protocol-Version`/`Mcp-Method` headers). Answers are read as JSON or as an SSE stream
/// (LF or CRLF lines). Only a JSON-RPC answer counts: an HTML page at the endpoint is not MCP.
struct MCPProbe {
    let fetcher: AuditFetcher

    /// The JSON-RPC messages of an answer: the JSON body, or each SSE event's data.
    static func messages(_ artifact: Artifact) -> [JSON] {
        let type = artifact.contentType.lowercased()
        if type.contains("text/event-stream") {
            var found: [JSON] = []
            var data: [String] = []
            let lines = artifact.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
                .split(separator: "\n", omittingEmptySubsequences: false)
            for line in lines + [""] {
                if line.isEmpty {
                    if !data.isEmpty, let json = try? JSON.parse(data.joined(separator: "\n"), maxDepth: 64) { found.append(json) }
                    data = []
                } else if line.hasPrefix("data:") {
                    var value = line.dropFirst(5)
                    if value.first == " " { value = value.dropFirst() }
                    data.append(String(value))
                }
            }
            return found
        }
        guard type.contains("json"), let json = try? JSON.parse(artifact.body, maxDepth: 64) else { return [] }
        return json.arrayValue ?? [json]
    }

    static func result(_ artifact: Artifact, id: Int) -> JSON? {
        guard artifact.ok else { return nil }
        return messages(artifact).first { $0["id"]?.intValue == Int64(id) && $0["result"] != nil }?["result"]
    }

    func probe(_ endpoint: String) -> MCPOutcome {
        var outcome = MCPOutcome(endpoint: endpoint)
        let json = "application/json"
        // 2025-11-25.
        let initialize = fetcher.mcp(
            endpoint, headers: ["Content-Type": json],
            body: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"storefront-audit","version":"1"}}}"#)
        outcome.evidence.append(initialize.evidence(match: initialize.body.isEmpty ? nil : String(initialize.body.prefix(160))))
        if let result = Self.result(initialize, id: 1) {
            let version = result["protocolVersion"]?.stringValue ?? "2025-11-25"
            outcome.revisions.append(version)
            outcome.streamed = initialize.contentType.contains("event-stream")
            var headers = ["Content-Type": json, "MCP-Protocol-Version": version]
            if let session = initialize.headers["mcp-session-id"] {
                outcome.stateful = true
                headers["Mcp-Session-Id"] = session
            }
            _ = fetcher.mcp(endpoint, headers: headers, body: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            outcome.tools = listTools(endpoint, headers: headers, meta: nil, evidence: &outcome.evidence)
            if outcome.stateful { _ = fetcher.mcp(endpoint, method: "DELETE", headers: headers, body: nil) }
        } else if initialize.ok && initialize.isHTML {
            outcome.problem = "\(endpoint) answers HTML, not JSON-RPC"
        }
        // 2026-07-28.
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"storefront-audit","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}"#
        let headers = ["Content-Type": json, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"]
        let discover = fetcher.mcp(endpoint, headers: headers, body: #"{"jsonrpc":"2.0","id":3,"method":"server/discover","params":{\#(meta)}}"#)
        if let result = Self.result(discover, id: 3), result["supportedVersions"]?.arrayValue != nil {
            outcome.evidence.append(discover.evidence(pointer: "/result/supportedVersions"))
            outcome.revisions.append("2026-07-28")
            if outcome.tools.isEmpty {
                var h = headers
                h["Mcp-Method"] = "tools/list"
                outcome.tools = listTools(endpoint, headers: h, meta: meta, evidence: &outcome.evidence)
            }
        }
        if !outcome.answered, outcome.problem == nil {
            outcome.problem = initialize.error ?? "\(endpoint) answered HTTP \(initialize.status) without a JSON-RPC result"
        }
        return outcome
    }

    private func listTools(_ endpoint: String, headers: [String: String], meta: String?, evidence: inout [JSON]) -> [JSON] {
        var tools: [JSON] = []
        var cursor: String?
        for page in 0..<5 {
            var params: [String] = []
            if let cursor { params.append(#""cursor":\#(JSON.string(cursor).compactString)"#) }
            if let meta { params.append(meta) }
            let answer = fetcher.mcp(
                endpoint, headers: headers, body: #"{"jsonrpc":"2.0","id":\#(10 + page),"method":"tools/list","params":{\#(params.joined(separator: ","))}}"#)
            guard let result = Self.result(answer, id: 10 + page) else {
                evidence.append(answer.evidence)
                break
            }
            tools += result["tools"]?.arrayValue ?? []
            if page == 0 { evidence.append(answer.evidence(pointer: "/result/tools")) }
            cursor = result["nextCursor"]?.stringValue
            if cursor == nil { break }
        }
        return tools
    }
}
