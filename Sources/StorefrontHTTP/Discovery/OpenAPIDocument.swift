import Foundation
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// `openapi.json` (OpenAPI 3.1), generated from the endpoint declarations.
struct OpenAPIDocument {
    let facts: StoreFacts
    let actions: ActionRegistry

    static let errorSchema: JSON = [
        "type": "object",
        "required": ["error"],
        "properties": [
            "error": [
                "type": "object",
                "required": ["type", "code", "message"],
                "properties": [
                    "type": [
                        "type": "string",
                        "enum": ["invalid_request", "authentication_error", "permission_error", "rate_limited",
                                 "payment_required", "processing_error", "service_unavailable"],
                    ],
                    "code": ["type": "string"],
                    "message": ["type": "string"],
                    "param": ["type": "string"],
                ],
            ]
        ],
    ]

    static let moneySchema: JSON = [
        "type": "object", "required": ["amount", "currency"], "additionalProperties": false,
        "properties": [
            "amount": ["type": "integer", "description": "Minor units (cents for USD)."],
            "currency": ["type": "string", "pattern": "^[A-Z]{3}$"],
        ],
    ]

    func operation(_ e: Endpoint) -> JSON {
        var content: [String: JSON] = [:]
        for type in e.contentTypes {
            if type == "application/json" || type.hasSuffix("+json") {
                content[type] = ["schema": e.responseSchema.map(schemaRef) ?? ["type": "object"]]
            } else {
                content[type] = ["schema": ["type": "string"]]
            }
        }
        var responses: [String: JSON] = [
            "200": ["description": "OK", "content": .object(content)],
        ]
        if e.isPublicDocument { responses["304"] = ["description": "Not modified (If-None-Match matched the ETag)."] }
        let errorContent: JSON = ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]
        if !e.parameters.isEmpty {
            responses["400"] = ["description": "A parameter is malformed.", "content": errorContent]
        }
        if e.path.contains("{") || e.mayBeMissing {
            responses["404"] = ["description": "No such resource.", "content": errorContent]
        }
        if e.requiresIdentity {
            responses["401"] = ["description": "An agent's credentials are needed.", "content": errorContent]
        }
        responses["429"] = Self.rateLimited
        var op: [String: JSON] = [
            "operationId": .string(e.id), "summary": .string(e.summary),
            "tags": [.string(e.stage.title)],
            "x-journey-stage": .string(e.stage.rawValue),
            "responses": .object(responses),
        ]
        if !e.parameters.isEmpty {
            op["parameters"] = .array(e.parameters.map { p in
                var parameter: [String: JSON] = [
                    "name": .string(p.name), "in": .string(p.location), "description": .string(p.description),
                    "required": .bool(p.required), "schema": p.schema,
                ]
                if let example = p.example { parameter["example"] = example }
                return .object(parameter)
            })
        }
        return .object(op)
    }

    /// `/checkout-sessions/{id}/complete` → `checkout_sessions_id_complete` (operation ids are unique).
    static func operationSuffix(_ path: String) -> String {
        path.split(separator: "/").map { $0.filter { $0.isLetter || $0.isNumber || $0 == "-" }.replacingOccurrences(of: "-", with: "_") }
            .joined(separator: "_")
    }

    /// Schemas of the project's own files are referenced by `$id`; inline ones are kept.
    func schemaRef(_ schema: JSON) -> JSON {
        if let ref = schema["$ref"]?.stringValue, ref.hasPrefix("https://storefront.dev/schemas/") {
            return ["type": "object", "description": .string("Described by \(ref)")]
        }
        return schema
    }

    /// A bundled action schema made an OpenAPI schema: its `$defs` move to
    /// `components/schemas`, and references follow them there.
    /// A refusal by the rate limits (`limits.rate_limits` in /agents publishes them).
    static let rateLimited: JSON = [
        "description": "Rate limited: wait Retry-After seconds (details.class names the bucket's class).",
        "headers": [
            "Retry-After": ["schema": ["type": "integer", "minimum": 1], "description": "Seconds to wait."],
            "RateLimit": ["schema": ["type": "string"], "description": "draft-ietf-httpapi-ratelimit-headers: \"class\";r=0;t=SECONDS"],
            "RateLimit-Policy": ["schema": ["type": "string"], "description": "draft-ietf-httpapi-ratelimit-headers: \"class\";q=QUOTA;w=WINDOW"],
        ],
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
    ]

    static func componentized(_ schema: JSON, into components: inout [String: JSON]) -> JSON {
        func rewrite(_ value: JSON) -> JSON {
            switch value {
            case .object(var members):
                if let ref = members["$ref"]?.stringValue, ref.hasPrefix("#/$defs/") {
                    members["$ref"] = .string("#/components/schemas/" + ref.dropFirst("#/$defs/".count))
                }
                for (key, member) in members where key != "$ref" { members[key] = rewrite(member) }
                return .object(members)
            case .array(let items): return .array(items.map(rewrite))
            default: return value
            }
        }
        guard case .object(var root) = schema else { return schema }
        for (name, definition) in root["$defs"]?.objectValue ?? [:] where components[name] == nil {
            components[name] = rewrite(definition)
        }
        root["$defs"] = nil
        root["$schema"] = nil
        root["$id"] = nil
        return rewrite(.object(root))
    }

    /// The operation of `POST /tools/{name}`, or of a route of its own (`route`): its path's `{id}`
    /// fills an argument, which the body then need not hold; a GET has no body.
    func actionOperation(_ entry: ActionRegistry.Entry, route: ActionRoute? = nil, components: inout [String: JSON]) -> JSON {
        let action = entry.action
        let errorContent: JSON = ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]
        let error = { (description: String) -> JSON in ["description": .string(description), "content": errorContent] }
        var input = entry.inputSchema
        if let argument = route?.pathArgument, case .object(var members) = input {
            members["properties"] = members["properties"]?.objectValue.map { properties in
                .object(properties.filter { $0.key != argument })
            }
            members["required"] = members["required"]?.arrayValue.map { .array($0.filter { $0.stringValue != argument }) }
            input = .object(members)
        }
        var operation: [String: JSON] = [
            "operationId": .string(route.map { "\(action.name)_\($0.method.lowercased())_\(Self.operationSuffix($0.path))" } ?? action.name),
            "summary": .string(action.title),
            "description": .string(action.description),
            "tags": [.string(action.stage.title)],
            "x-journey-stage": .string(action.stage.rawValue),
            "x-mcp-annotations": action.annotations.json,
        ]
        var responses: [String: JSON] = [
            "400": error("The body is not JSON, or the arguments break the input schema (param names the JSON Pointer)."),
            "401": error("The action needs an identity, or the credentials sent are not valid."),
            "402": error("The wallet lacks the funds (details.missing says how much)."),
            "403": error("A spend control or a missing scope forbids it (details name the limit)."),
            "404": error("Something the arguments name does not exist."),
            "409": error("The object is not in a state that allows this, stock ran out, or the same Idempotency-Key is still in flight."),
            "422": error("The Idempotency-Key was used with different arguments."),
            "503": error("The store could not commit; nothing changed. Retry with the same Idempotency-Key."),
            "413": error("The body is larger than the limit."),
            "415": error("The body is not JSON."),
            "500": error("The store could not complete the action."),
            "429": Self.rateLimited,
        ]
        // The success: 200, or the route's own status (201 for a created checkout session).
        responses[String(route?.successStatus ?? 200)] = [
            "description": "The action's result.",
            "content": ["application/json": ["schema": Self.componentized(entry.outputSchema, into: &components)]],
        ]
        operation["responses"] = .object(responses)
        if let scope = action.scope {
            // An API key or an OAuth token granted this scope (a registered key's RFC 9421
            // signature works too; OpenAPI has no scheme for HTTP message signatures).
            operation["security"] = [["bearer": []], ["oauth2": [.string(scope)]]]
        }
        if route?.method != "GET" {
            operation["requestBody"] = [
                // An empty body means {}: optional only when the input requires nothing.
                "required": .bool(!(input["required"]?.arrayValue?.isEmpty ?? true)),
                "description": "The action's arguments (an empty body means {}).",
                "content": ["application/json": ["schema": Self.componentized(input, into: &components)]],
            ]
        }
        if let argument = route?.pathArgument {
            operation["parameters"] = [[
                "name": "id", "in": "path", "required": true,
                "description": .string("The action's \(argument)."),
                "schema": entry.inputSchema["properties"]?[argument] ?? ["type": "string"],
            ]]
        }
        return .object(operation)
    }

    func document() throws -> JSON {
        var paths: [String: JSON] = [:]
        for e in Endpoints.all {
            var item = paths[e.path]?.objectValue ?? [:]
            item[e.method.lowercased()] = operation(e)
            paths[e.path] = .object(item)
        }
        var components: [String: JSON] = ["Error": Self.errorSchema, "Money": Self.moneySchema]
        for entry in actions.entries {
            paths["/tools/\(entry.action.name)"] = ["post": actionOperation(entry, components: &components)]
        }
        paths["/agents/register"] = [
            "post": [
                "operationId": "registerAgent", "summary": "Register an agent: returns its id, an API key shown once, and its wallet.",
                "tags": ["Trust-checking"],
                "requestBody": [
                    "required": true,
                    "content": ["application/json": ["schema": [
                        "type": "object", "required": ["principal", "display_name"],
                        "properties": [
                            "principal": ["type": "string", "minLength": 1, "maxLength": 200],
                            "display_name": ["type": "string", "minLength": 1, "maxLength": 200],
                            "operator": ["type": "string", "maxLength": 200],
                            "public_key": Self.registrationPublicKeySchema,
                            "scopes": Self.registrationScopesSchema,
                            "api_key": ["type": "boolean"],
                        ],
                    ]]],
                ],
                "responses": [
                    "201": ["description": "Registered.", "content": ["application/json": ["schema": ["type": "object", "required": ["id", "principal"]]]]],
                    "400": ["description": "A field is missing or wrong.", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
                    "403": ["description": "Registration is by invitation.", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
                    "429": Self.rateLimited,
                ],
            ]
        ]
        for route in Endpoints.actionRoutes {
            guard let entry = actions.entry(route.action) else { continue }
            var item = paths[route.path]?.objectValue ?? [:]
            item[route.method.lowercased()] = actionOperation(entry, route: route, components: &components)
            paths[route.path] = .object(item)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": .string("\(facts.name) — Storefront agent API"),
                "version": .string(facts.version),
                "description": .string(
                    "The HTTP API agents use to find, evaluate and trust-check \(facts.name). Money is integer minor units with an ISO 4217 currency."),
            ],
            "servers": [["url": .string(facts.baseURL)]],
            "tags": .array(JourneyStage.allCases.map { ["name": .string($0.title)] }),
            "paths": .object(paths),
            "components": ["schemas": .object(components), "securitySchemes": securitySchemes],
        ]
    }
}

extension OpenAPIDocument {
    /// How agents prove who they are: an API key or access token as a bearer token, and the
    /// OAuth authorization code flow (PKCE S256) of this gateway's own authorization server.
    var securitySchemes: JSON {
        [
            "bearer": [
                "type": "http", "scheme": "bearer",
                "description": "An agent's API key (POST /agents/register) or an OAuth access token from this store's authorization server.",
            ],
            "oauth2": [
                "type": "oauth2",
                "description": "Authorization code with PKCE (S256); the principal grants scopes and sets the agent's limits. Metadata: /.well-known/oauth-authorization-server.",
                "flows": [
                    "authorizationCode": [
                        "authorizationUrl": .string(facts.baseURL + "/oauth/authorize"),
                        "tokenUrl": .string(facts.baseURL + "/oauth/token"),
                        "refreshUrl": .string(facts.baseURL + "/oauth/token"),
                        "scopes": OAuthScopes.described(actions),
                    ]
                ],
            ],
        ]
    }

    /// `public_key` at registration: an Ed25519 JWK, at most 512 bytes; only kty, crv and x are kept.
    static var registrationPublicKeySchema: JSON {
        var properties: [String: JSON] = [:]
        properties["kty"] = ["const": "OKP"]
        properties["crv"] = ["const": "Ed25519"]
        properties["x"] = ["type": "string", "maxLength": 64]
        for name in ["alg", "use", "kid"] { properties[name] = ["type": "string", "maxLength": 128] }
        var schema: [String: JSON] = [:]
        schema["type"] = "object"
        schema["description"] = .string(
            "An Ed25519 JWK for RFC 9421 signatures (at most \(FieldLimits.publicKeyBytes) bytes serialized; only kty, crv and x are kept).")
        schema["properties"] = .object(properties)
        schema["additionalProperties"] = false
        return .object(schema)
    }

    /// `scopes` at registration.
    static var registrationScopesSchema: JSON {
        var schema: [String: JSON] = [:]
        schema["type"] = "array"
        schema["maxItems"] = .int(Int64(FieldLimits.scopes))
        schema["items"] = ["type": "string", "maxLength": 32]
        return .object(schema)
    }
}
