import Foundation
import HTTPServer
import JSON
import StorefrontDomain

/// One tool as MCP lists it: its schemas, hints and the journey stage it belongs to.
public struct MCPTool: Sendable {
    public let name: String
    public let title: String
    public let description: String
    public let inputSchema: JSON
    public let outputSchema: JSON
    public let annotations: ActionAnnotations
    public let stage: JourneyStage
    /// A mutating tool answers after its commit.
    public let isMutating: Bool

    public init(
        name: String, title: String, description: String, inputSchema: JSON, outputSchema: JSON,
        annotations: ActionAnnotations, stage: JourneyStage, isMutating: Bool
    ) {
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.annotations = annotations
        self.stage = stage
        self.isMutating = isMutating
    }

    /// The tool as `tools/list` shows it.
    var json: JSON {
        var hints = annotations.json.objectValue ?? [:]
        hints["title"] = .string(title)
        return [
            "name": .string(name),
            "title": .string(title),
            "description": .string(description),
            "inputSchema": inputSchema,
            "outputSchema": outputSchema,
            "annotations": .object(hints),
            "_meta": ["dev.storefront/stage": .string(stage.rawValue)],
        ]
    }
}

/// What MCP sees of the store's actions: the tools in listing order and a way to run one. The
/// gateway adapts its action registry to it; MCP knows nothing else of actions or the store.
public protocol MCPToolProvider: Sendable {
    /// Every tool, in the order `tools/list` pages through them.
    var tools: [MCPTool] { get }
    func tool(named name: String) -> MCPTool?
    /// Runs a tool and reports through `completion`, with no thread waiting meanwhile; a
    /// mutating tool reports after its commit.
    func callTool(
        _ name: String, arguments: JSON, context: ActionContext, completion: @escaping @Sendable (ActionOutcome) -> Void)
    /// Runs a tool and waits for its outcome (the session transport answers on a work queue).
    func callToolWaiting(_ name: String, arguments: JSON, context: ActionContext) -> ActionOutcome
}

extension MCPToolProvider {
    /// Waits for `callTool` (a provider with a faster way to wait may say so).
    public func callToolWaiting(_ name: String, arguments: JSON, context: ActionContext) -> ActionOutcome {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: ActionOutcome!
        callTool(name, arguments: arguments, context: context) {
            outcome = $0
            done.signal()
        }
        done.wait()
        return outcome
    }
}

/// A rate limiter's answer, as MCP needs it to refuse a message (the gateway's limiter conforms).
public protocol MCPRateLimit: Sendable {
    var allowed: Bool { get }
    var message: String { get }
    /// The refusal's details, sent as the JSON-RPC error's data.
    var details: JSON { get }
    /// Adds the RateLimit headers (and Retry-After on a refusal).
    func addHeaders(to response: inout Response)
}
