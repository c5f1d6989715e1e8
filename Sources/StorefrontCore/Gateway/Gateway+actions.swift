import HTTPServer
import JSON

extension Gateway {
    /// The REST mirror: `POST /tools/{name}` with the arguments as the JSON body.
    func callAction(_ name: String, request: Request) -> Response {
        guard actions.entry(name) != nil else {
            return ActionError(
                status: 404, kind: .invalidRequest, code: "unknown_action",
                message: "No action \(name). GET /tools lists them: \(actions.names.joined(separator: ", ")).",
                param: "name"
            ).restResponse
        }
        let arguments: JSON
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            arguments = [:]
        } else {
            do {
                arguments = try JSON.parse(bytes: request.body)
            } catch let error as JSONParseError {
                // A JSON body is accepted whatever its label (curl -d says form-urlencoded);
                // a body that is neither JSON nor labelled JSON gets 415.
                if let type = request.headers["Content-Type"], !type.lowercased().contains("json") {
                    return ActionError(
                        status: 415, kind: .invalidRequest, code: "unsupported_media_type",
                        message: "Send the arguments as a JSON object with Content-Type: application/json, not \(type)."
                    ).restResponse
                }
                return ActionError.invalid(
                    error.code.rawValue, "The body is not valid JSON: \(error.description).", param: "body"
                ).restResponse
            } catch {
                return ActionError.invalid("invalid_json", "The body is not valid JSON.").restResponse
            }
        }
        return actionResponse(name, arguments: arguments, request: request)
    }

    func actionResponse(_ name: String, arguments: JSON, request: Request, cacheControl: String = "no-store") -> Response {
        let context = ActionContext(requestID: request.id)
        switch actions.call(name, arguments: arguments, context: context) {
        case .success(let result): return jsonResponse(result, cacheControl: cacheControl)
        case .failure(let error): return error.restResponse
        }
    }
}

extension ActionError {
    var restResponse: Response {
        var response = jsonResponse(json, status: status)
        if status == 405 { response.headers.add("Allow", "POST") }
        return response
    }
}
