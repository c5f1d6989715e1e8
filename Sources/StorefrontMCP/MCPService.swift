import Foundation
import JSON
import StorefrontDomain

/// A resource an MCP client can list and read.
package struct MCPResource: Sendable {
    let uri: String
    let name: String
    let title: String
    let description: String
    let mimeType: String
    let read: @Sendable () -> String

    package init(
        uri: String,
        name: String,
        title: String,
        description: String,
        mimeType: String,
        read: @escaping @Sendable () -> String
    ) {
        self.uri = uri
        self.name = name
        self.title = title
        self.description = description
        self.mimeType = mimeType
        self.read = read
    }
}

/// The MCP methods, the same for both transport revisions: tools from the tool provider (the
/// store's actions), resources from the store's documents, prompts that guide a purchase.
package struct MCPService: Sendable {
    let tools: MCPToolProvider
    let resources: [MCPResource]
    let productResource: @Sendable (String) -> String?
    /// The caller's inbox as a resource (needs an identity).
    package var inboxResource: (@Sendable (Identity) -> String?)?
    let storeName: String
    let version: String
    let toolsPageSize: Int

    package init(
        tools: MCPToolProvider,
        resources: [MCPResource],
        productResource: @escaping @Sendable (String) -> String?,
        inboxResource: (@Sendable (Identity) -> String?)? = nil,
        storeName: String,
        version: String,
        toolsPageSize: Int
    ) {
        self.tools = tools
        self.resources = resources
        self.productResource = productResource
        self.inboxResource = inboxResource
        self.storeName = storeName
        self.version = version
        self.toolsPageSize = toolsPageSize
    }

    var serverInfo: JSON {
        ["name": "storefront", "title": .string("\(storeName) (Storefront)"), "version": .string(version)]
    }

    var instructions: String {
        "You are talking to \(storeName)'s agent gateway. Money is integer minor units with an ISO 4217 currency. "
            + "To shop: search_catalog (words, category, price range, in_stock), get_product or lookup_catalog for details, "
            + "compare_products to choose, get_quote to price quantities, plans and usage before buying. "
            + "get_policies answers refund windows, shipping and support. Errors come back as tool results with isError "
            + "and a structured error naming the argument (a JSON Pointer) and what to change."
    }

    var capabilities: JSON {
        [
            "tools": ["listChanged": false],
            "resources": ["subscribe": true, "listChanged": false],
            "prompts": ["listChanged": false],
        ]
    }

    /// Runs one request's method. `context` carries the progress reporter when the client asked.
    func call(_ method: String, params: JSON, context: ActionContext) -> Result<RPCResultBody, RPCError> {
        if method == "tools/call" { return callTool(params, context: context) }
        return callMethod(method, params: params, context: context).map(RPCResultBody.init)
    }

    private func callMethod(_ method: String, params: JSON, context: ActionContext) -> Result<JSON, RPCError> {
        switch method {
        case "ping": return .success([:])
        case "tools/list": return listTools(params)
        case "resources/list":
            var listed = resources.map(resourceJSON)
            listed.append([
                "uri": .string(AgentInbox.resourceURI), "name": "inbox", "title": "Your inbox",
                "description": "Events about your orders, approvals and wallet (needs your API key). Subscribe for notifications/resources/updated.",
                "mimeType": "application/json",
            ])
            return .success(["resources": .array(listed)])
        case "resources/templates/list": return .success(["resourceTemplates": [productTemplate]])
        case "resources/read":
            if params["uri"]?.stringValue == AgentInbox.resourceURI {
                guard let identity = context.identity else {
                    return .failure(
                        RPCError(code: RPCError.invalidParams, message: "The inbox belongs to an agent: send Authorization: Bearer <api key>."))
                }
                let text = inboxResource?(identity) ?? "{}"
                return .success(["contents": [["uri": .string(AgentInbox.resourceURI), "mimeType": "application/json", "text": .string(text)]]])
            }
            return readResource(params)
        case "prompts/list": return .success(["prompts": .array(MCPPrompts.all.map(\.listing))])
        case "prompts/get": return getPrompt(params)
        default:
            return .failure(RPCError(code: RPCError.methodNotFound, message: "Method not found: \(method)"))
        }
    }

    func listTools(_ params: JSON) -> Result<JSON, RPCError> {
        var offset = 0
        if let cursor = params["cursor"]?.stringValue {
            guard let data = Base64URL.decode(cursor), let text = String(data: data, encoding: .utf8),
                text.hasPrefix("tools:"), let value = Int(text.dropFirst(6)), value >= 0, value < tools.tools.count
            else {
                return .failure(RPCError(code: RPCError.invalidParams, message: "Invalid cursor: start again without one."))
            }
            offset = value
        }
        let all = tools.tools
        let page = all[offset..<min(all.count, offset + toolsPageSize)]
        var result: [String: JSON] = ["tools": .array(page.map(\.json))]
        if offset + toolsPageSize < all.count {
            result["nextCursor"] = .string(Base64URL.encode(Data("tools:\(offset + toolsPageSize)".utf8)))
        }
        return .success(.object(result))
    }

    /// The tool a tools/call names, or the JSON-RPC error for a call without one.
    private func tool(_ params: JSON) -> Result<MCPTool, RPCError> {
        guard let name = params["name"]?.stringValue else {
            return .failure(RPCError(code: RPCError.invalidParams, message: "tools/call needs params.name."))
        }
        guard let tool = tools.tool(named: name) else {
            return .failure(
                RPCError(
                    code: RPCError.invalidParams, message: "Unknown tool: \(name)",
                    data: ["tools": .array(tools.tools.map { .string($0.name) })]))
        }
        return .success(tool)
    }

    /// Whether `tools/call` with these params runs a mutating action (one that waits for a commit).
    func isMutatingCall(_ method: String, params: JSON) -> Bool {
        guard method == "tools/call", case .success(let found) = tool(params) else { return false }
        return found.isMutating
    }

    func callTool(_ params: JSON, context: ActionContext) -> Result<RPCResultBody, RPCError> {
        switch tool(params) {
        case .failure(let error): return .failure(error)
        case .success(let found):
            return Self.toolResult(tools.callToolWaiting(found.name, arguments: params["arguments"] ?? [:], context: context))
        }
    }

    /// `tools/call` reporting through `completion`: a mutating tool answers after its commit,
    /// and no thread waits for it meanwhile (the caller suspends its connection).
    func callTool(
        _ params: JSON, context: ActionContext, completion: @escaping @Sendable (Result<RPCResultBody, RPCError>) -> Void
    ) {
        switch tool(params) {
        case .failure(let error): completion(.failure(error))
        case .success(let found):
            tools.callTool(found.name, arguments: params["arguments"] ?? [:], context: context) {
                completion(Self.toolResult($0))
            }
        }
    }

    static func toolResult(_ outcome: ActionOutcome) -> Result<RPCResultBody, RPCError> {
        var result: RPCResultBody
        // A success's structured content is serialized once (read-only actions arrive that way)
        // and also quoted as the text content.
        let structured: EncodedJSON
        if let encoded = outcome.encodedSuccess {
            structured = encoded
        } else {
            switch outcome.result {
            case .success(let value): structured = value.encoded
            case .failure(let error):
                // A protocol binding's refusal that its specification makes a JSON-RPC error
                // (UCP's and ACP's MCP bindings: -32000 with the protocol's error as data).
                if let protocolError = error.details?["jsonrpc_error"], let code = protocolError["code"]?.intValue {
                    return .failure(RPCError(code: code, message: error.message, data: protocolError["data"]))
                }
                return .success(
                    RPCResultBody([
                        "content": [["type": "text", "text": .string(error.message)]],
                        "structuredContent": error.json,
                        "isError": true,
                    ]))
            }
        }
        // The text content is made once per distinct result (a cached one is sent many times).
        let content = structured.derived("mcp.text-content") { structured in
            .array([.object(["type": "text"], encoded: ["text": .quoting(structured)])])
        }
        result = RPCResultBody(
            members: ["isError": false], encoded: ["structuredContent": structured, "content": content])
        if outcome.replayed { result.members["_meta"] = ["dev.storefront/idempotentReplayed": true] }
        return .success(result)
    }

    func resourceJSON(_ r: MCPResource) -> JSON {
        [
            "uri": .string(r.uri), "name": .string(r.name), "title": .string(r.title),
            "description": .string(r.description), "mimeType": .string(r.mimeType),
        ]
    }

    var productTemplate: JSON {
        [
            "uriTemplate": "storefront://products/{id}", "name": "product", "title": "A product",
            "description": "One product with variants, inventory and attributes, by id.", "mimeType": "application/json",
        ]
    }

    func readResource(_ params: JSON) -> Result<JSON, RPCError> {
        guard let uri = params["uri"]?.stringValue else {
            return .failure(RPCError(code: RPCError.invalidParams, message: "resources/read needs params.uri."))
        }
        if let resource = resources.first(where: { $0.uri == uri }) {
            return .success(["contents": [["uri": .string(uri), "mimeType": .string(resource.mimeType), "text": .string(resource.read())]]])
        }
        let prefix = "storefront://products/"
        if uri.hasPrefix(prefix), let text = productResource(String(uri.dropFirst(prefix.count))) {
            return .success(["contents": [["uri": .string(uri), "mimeType": "application/json", "text": .string(text)]]])
        }
        return .failure(RPCError(code: RPCError.resourceNotFound, message: "Resource not found", data: ["uri": .string(uri)]))
    }

    func getPrompt(_ params: JSON) -> Result<JSON, RPCError> {
        guard let name = params["name"]?.stringValue, let prompt = MCPPrompts.all.first(where: { $0.name == name }) else {
            return .failure(
                RPCError(
                    code: RPCError.invalidParams, message: "Unknown prompt: \(params["name"]?.stringValue ?? "(none)")",
                    data: ["prompts": .array(MCPPrompts.all.map { .string($0.name) })]))
        }
        var arguments: [String: String] = [:]
        for (key, value) in params["arguments"]?.objectValue ?? [:] { arguments[key] = value.stringValue ?? value.compactString }
        for argument in prompt.arguments where argument.required && (arguments[argument.name] ?? "").isEmpty {
            return .failure(
                RPCError(code: RPCError.invalidParams, message: "Prompt \(name) needs the argument \(argument.name)."))
        }
        return .success([
            "description": .string(prompt.description),
            "messages": [["role": "user", "content": ["type": "text", "text": .string(prompt.render(arguments, storeName))]]],
        ])
    }
}
