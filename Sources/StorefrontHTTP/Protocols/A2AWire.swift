import Foundation
import JSON

/// The A2A protocol's (0.3) wire shapes, in both transports the agent card offers. Everything is
/// built in the JSON-RPC shape (`kind` discriminators, `"completed"` states) and converted to
/// the HTTP+JSON shape (protobuf JSON: no `kind`, `TASK_STATE_COMPLETED`, a message's parts
/// under `content`, a data part wrapped twice) at the edge.
enum A2AWire: Sendable {
    case jsonRPC
    case rest

    /// A task state as the HTTP+JSON transport spells it (0.3 spells canceled with two Ls).
    static func restState(_ state: String) -> String {
        switch state {
        case "canceled": return "TASK_STATE_CANCELLED"
        case "unknown": return "TASK_STATE_UNSPECIFIED"
        default: return "TASK_STATE_" + state.uppercased().replacingOccurrences(of: "-", with: "_")
        }
    }

    /// A part in the HTTP+JSON shape.
    static func restPart(_ part: JSON) -> JSON {
        switch part["kind"]?.stringValue {
        case "data": return ["data": ["data": part["data"] ?? [:]]]
        case "text": return ["text": part["text"] ?? ""]
        default: return part
        }
    }

    /// A message in the HTTP+JSON shape.
    static func restMessage(_ message: JSON) -> JSON {
        var out: [String: JSON] = [
            "messageId": message["messageId"] ?? "",
            "role": message["role"]?.stringValue == "agent" ? "ROLE_AGENT" : "ROLE_USER",
            "content": .array((message["parts"]?.arrayValue ?? []).map(restPart)),
        ]
        if let context = message["contextId"] { out["contextId"] = context }
        if let task = message["taskId"] { out["taskId"] = task }
        return .object(out)
    }

    static func restStatus(_ status: JSON) -> JSON {
        var out: [String: JSON] = ["state": .string(restState(status["state"]?.stringValue ?? "unknown"))]
        if let timestamp = status["timestamp"] { out["timestamp"] = timestamp }
        if let message = status["message"] { out["message"] = restMessage(message) }
        return .object(out)
    }

    static func restArtifact(_ artifact: JSON) -> JSON {
        [
            "artifactId": artifact["artifactId"] ?? "", "name": artifact["name"] ?? "result",
            "parts": .array((artifact["parts"]?.arrayValue ?? []).map(restPart)),
        ]
    }

    /// A task (or message, or stream event) in the HTTP+JSON shape.
    static func rest(_ value: JSON) -> JSON {
        switch value["kind"]?.stringValue {
        case "task":
            var out: [String: JSON] = [
                "id": value["id"] ?? "", "contextId": value["contextId"] ?? "", "status": restStatus(value["status"] ?? [:]),
            ]
            if let artifacts = value["artifacts"]?.arrayValue { out["artifacts"] = .array(artifacts.map(restArtifact)) }
            if let history = value["history"]?.arrayValue { out["history"] = .array(history.map(restMessage)) }
            return .object(out)
        case "message":
            return restMessage(value)
        case "status-update":
            return [
                "taskId": value["taskId"] ?? "", "contextId": value["contextId"] ?? "",
                "status": restStatus(value["status"] ?? [:]), "final": value["final"] ?? false,
            ]
        case "artifact-update":
            return [
                "taskId": value["taskId"] ?? "", "contextId": value["contextId"] ?? "",
                "artifact": restArtifact(value["artifact"] ?? [:]), "append": false, "lastChunk": true,
            ]
        default:
            return value
        }
    }

    /// A stream event wrapped as the HTTP+JSON transport's `StreamResponse`.
    static func restStreamEvent(_ value: JSON) -> JSON {
        switch value["kind"]?.stringValue {
        case "task": return ["task": rest(value)]
        case "message": return ["message": rest(value)]
        case "status-update": return ["statusUpdate": rest(value)]
        case "artifact-update": return ["artifactUpdate": rest(value)]
        default: return value
        }
    }

    // MARK: 1.0

    /// A task state as A2A 1.0 spells it (canceled with one L).
    static func v1State(_ state: String) -> String {
        state == "canceled" ? "TASK_STATE_CANCELED" : restState(state)
    }

    /// A part in A2A 1.0's shape: a data part wrapped once.
    static func v1Part(_ part: JSON) -> JSON {
        switch part["kind"]?.stringValue {
        case "data": return ["data": part["data"] ?? [:]]
        case "text": return ["text": part["text"] ?? ""]
        default: return part
        }
    }

    static func v1Message(_ message: JSON) -> JSON {
        var out: [String: JSON] = [
            "messageId": message["messageId"] ?? "",
            "role": message["role"]?.stringValue == "agent" ? "ROLE_AGENT" : "ROLE_USER",
            "parts": .array((message["parts"]?.arrayValue ?? []).map(v1Part)),
        ]
        if let context = message["contextId"] { out["contextId"] = context }
        if let task = message["taskId"] { out["taskId"] = task }
        return .object(out)
    }

    static func v1Status(_ status: JSON) -> JSON {
        var out: [String: JSON] = ["state": .string(v1State(status["state"]?.stringValue ?? "unknown"))]
        if let timestamp = status["timestamp"] { out["timestamp"] = timestamp }
        if let message = status["message"] { out["message"] = v1Message(message) }
        return .object(out)
    }

    static func v1Artifact(_ artifact: JSON) -> JSON {
        [
            "artifactId": artifact["artifactId"] ?? "", "name": artifact["name"] ?? "result",
            "parts": .array((artifact["parts"]?.arrayValue ?? []).map(v1Part)),
        ]
    }

    /// A task (or message, or stream event) in A2A 1.0's shape.
    static func v1(_ value: JSON) -> JSON {
        switch value["kind"]?.stringValue {
        case "task":
            var out: [String: JSON] = [
                "id": value["id"] ?? "", "contextId": value["contextId"] ?? "", "status": v1Status(value["status"] ?? [:]),
            ]
            if let artifacts = value["artifacts"]?.arrayValue { out["artifacts"] = .array(artifacts.map(v1Artifact)) }
            if let history = value["history"]?.arrayValue { out["history"] = .array(history.map(v1Message)) }
            return .object(out)
        case "message":
            return v1Message(value)
        case "status-update":
            return ["taskId": value["taskId"] ?? "", "contextId": value["contextId"] ?? "", "status": v1Status(value["status"] ?? [:])]
        case "artifact-update":
            return [
                "taskId": value["taskId"] ?? "", "contextId": value["contextId"] ?? "",
                "artifact": v1Artifact(value["artifact"] ?? [:]), "append": false, "lastChunk": true,
            ]
        default:
            return value
        }
    }

    /// A result of SendMessage or a stream event, wrapped as 1.0's `SendMessageResponse` / `StreamResponse`.
    static func v1Wrapped(_ value: JSON) -> JSON {
        switch value["kind"]?.stringValue {
        case "task": return ["task": v1(value)]
        case "message": return ["message": v1(value)]
        case "status-update": return ["statusUpdate": v1(value)]
        case "artifact-update": return ["artifactUpdate": v1(value)]
        default: return value
        }
    }

    /// A message sent in either transport's shape, in the JSON-RPC shape: `messageId`,
    /// `contextId`, `taskId` (or their snake_case protobuf names), and `parts` (or `content`)
    /// whose data parts are `{"kind": "data", "data": …}`, `{"data": {"data": …}}` or `{"data": …}`.
    static func normalizedMessage(_ message: JSON) -> JSON? {
        guard case .object(let fields) = message else { return nil }
        func text(_ names: String...) -> JSON? {
            for name in names { if let value = fields[name]?.stringValue, !value.isEmpty { return .string(value) } }
            return nil
        }
        guard let messageID = text("messageId", "message_id") else { return nil }
        let rawParts = fields["parts"]?.arrayValue ?? fields["content"]?.arrayValue ?? []
        let parts: [JSON] = rawParts.map { part in
            if part["kind"] != nil { return part }
            if let text = part["text"]?.stringValue { return ["kind": "text", "text": .string(text)] }
            if let data = part["data"] {
                if let inner = data["data"], case .object = inner, data.objectValue?.count == 1 { return ["kind": "data", "data": inner] }
                return ["kind": "data", "data": data]
            }
            if part["file"] != nil { return ["kind": "file", "file": part["file"] ?? [:]] }
            return part
        }
        var out: [String: JSON] = ["kind": "message", "messageId": messageID, "role": "user", "parts": .array(parts)]
        if let context = text("contextId", "context_id") { out["contextId"] = context }
        if let task = text("taskId", "task_id") { out["taskId"] = task }
        return .object(out)
    }
}

/// An A2A error: its JSON-RPC code, the HTTP+JSON status and the error class name clients map.
struct A2AError: Error, Sendable {
    var code: Int
    var type: String
    var status: Int
    var message: String
    var data: JSON?

    static func parse(_ message: String) -> A2AError {
        A2AError(code: -32700, type: "JSONParseError", status: 400, message: message)
    }
    static func invalidRequest(_ message: String) -> A2AError {
        A2AError(code: -32600, type: "InvalidRequestError", status: 400, message: message)
    }
    static func methodNotFound(_ message: String) -> A2AError {
        A2AError(code: -32601, type: "MethodNotFoundError", status: 404, message: message)
    }
    static func invalidParams(_ message: String, data: JSON? = nil) -> A2AError {
        A2AError(code: -32602, type: "InvalidParamsError", status: 422, message: message, data: data)
    }
    static func internalError(_ message: String) -> A2AError {
        A2AError(code: -32603, type: "InternalError", status: 500, message: message)
    }
    static func taskNotFound(_ id: String) -> A2AError {
        A2AError(code: -32001, type: "TaskNotFoundError", status: 404, message: "No task \(id) for this agent.")
    }
    static func notCancelable(_ id: String, state: String) -> A2AError {
        A2AError(code: -32002, type: "TaskNotCancelableError", status: 409, message: "Task \(id) is \(state); only a task waiting for input can be canceled.")
    }
    static func pushNotSupported() -> A2AError {
        A2AError(
            code: -32003, type: "PushNotificationNotSupportedError", status: 501,
            message: "Push notifications are not supported; poll tasks/get, or follow the agent's inbox (GET /inbox).")
    }
    static func unsupported(_ message: String) -> A2AError {
        A2AError(code: -32004, type: "UnsupportedOperationError", status: 501, message: message)
    }

    /// The JSON-RPC error object.
    var rpc: JSON {
        var error: [String: JSON] = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { error["data"] = data }
        return .object(error)
    }

    /// A2A 1.0's reason for the error (google.rpc.ErrorInfo): `TaskNotFoundError` → `TASK_NOT_FOUND`.
    var reason: String {
        let name = type.hasSuffix("Error") ? String(type.dropLast(5)) : type
        var out = ""
        for (i, c) in name.enumerated() {
            if c.isUppercase, i > 0 { out += "_" }
            out += c.uppercased()
        }
        return out
    }

    var errorInfo: JSON {
        [["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": .string(reason), "domain": "a2a-protocol.org", "metadata": [:]]]
    }

    /// The JSON-RPC error object of A2A 1.0: the details carry the reason.
    var rpcV1: JSON {
        ["code": .int(Int64(code)), "message": .string(message), "data": errorInfo]
    }

    /// A2A 1.0's HTTP+JSON error (google.rpc.Status).
    var restV1: JSON {
        let statusName: String
        switch v1Status {
        case 404: statusName = "NOT_FOUND"
        case 401: statusName = "UNAUTHENTICATED"
        case 501: statusName = "UNIMPLEMENTED"
        case 500: statusName = "INTERNAL"
        default: statusName = code == -32002 ? "FAILED_PRECONDITION" : "INVALID_ARGUMENT"
        }
        return ["error": ["code": .int(Int64(v1Status)), "status": .string(statusName), "message": .string(message), "details": errorInfo]]
    }

    /// The HTTP status of the error on 1.0's HTTP+JSON (a task that cannot be canceled is 400 there).
    var v1Status: Int { code == -32002 ? 400 : status == 422 ? 400 : status }

    /// The HTTP+JSON body: the message and the error class name (which a2a-sdk's client maps).
    var rest: JSON {
        var body: [String: JSON] = ["type": .string(type), "message": .string(message), "code": .int(Int64(code))]
        if let data { body["data"] = data }
        return .object(body)
    }
}
