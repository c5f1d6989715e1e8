import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// Who may call the admin API, and how: the admin token as a bearer token (scripts, the CLI's
/// peers, no CSRF token needed), or the dashboard's session cookie (see ``AdminSession``), whose
/// state-changing calls also carry the session's CSRF token. The admin token is never taken from
/// a URL (`?access_token=` is not read: proxies and logs keep URLs).
extension Gateway {
    /// How an admin request was authenticated.
    enum AdminCaller {
        case bearer
        case session(id: String)
    }

    static let safeMethods: Set<String> = ["GET", "HEAD", "OPTIONS"]

    /// The bearer token of `Authorization`, if the request sent one.
    static func bearerToken(_ request: Request) -> String? {
        request.headers["Authorization"].flatMap { header -> String? in
            header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
        }
    }

    /// The admin caller of `request`, or the response refusing it (401, or 403 for a cookie call
    /// that changes state without the CSRF token).
    func adminCaller(_ request: Request) -> Result<AdminCaller, AdminRefusal> {
        if let token = Self.bearerToken(request) {
            return AdminToken.verify(token, in: database) ? .success(.bearer) : .failure(.unauthenticated)
        }
        if let id = AdminSession.cookie(in: request.headers.values("Cookie")), AdminSession.lookup(id, in: database) != nil {
            if !Self.safeMethods.contains(request.method),
                !AdminSession.csrfMatches(request.headers[AdminSession.csrfHeader], sessionID: id)
            {
                return .failure(.csrf)
            }
            return .success(.session(id: id))
        }
        return .failure(.unauthenticated)
    }

    /// Why an admin request was refused.
    enum AdminRefusal: Error {
        case unauthenticated, csrf

        var response: Response {
            switch self {
            case .unauthenticated:
                var response = Response.error(
                    status: 401, type: "authentication_error", code: "admin_token_required",
                    message: "Admin routes need Authorization: Bearer <admin token> (printed on the gateway's first start), or the dashboard's session cookie (POST /admin/api/session). The token is never accepted in the URL.")
                response.headers.add("WWW-Authenticate", "Bearer realm=\"storefront-admin\"")
                return response
            case .csrf:
                return Response.error(
                    status: 403, type: "permission_error", code: "csrf_token_invalid",
                    message: "A call that changes state with the dashboard's session cookie must send the session's CSRF token in \(AdminSession.csrfHeader) (from POST or GET /admin/api/session).")
            }
        }
    }

    /// Admin routes: the caller must be the merchant (see ``adminCaller(_:)``), and a body, when
    /// one is sent, must be a JSON object (a body that does not parse is 400, never read as `{}`).
    /// `anyBody`: the route reads its body itself (a feed in any format).
    func adminOnly(anyBody: Bool = false, _ handler: @escaping @Sendable (Request) -> Response) -> Handler {
        { [unowned self] request in
            if case .failure(let refusal) = adminCaller(request) { return refusal.response }
            if !anyBody, let refusal = Self.badAdminBody(request) { return refusal }
            // Admin work writes to the store; it runs off the server's threads.
            return .later { complete in DispatchQueue.global().async { complete(handler(request)) } }
        }
    }

    /// A 400 for a body that is not a JSON object; nil for an empty body or a JSON object.
    static func badAdminBody(_ request: Request) -> Response? {
        guard request.body.contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else { return nil }
        do {
            guard case .object = try JSON.parse(bytes: request.body) else {
                return ActionError.invalid("invalid_body", "The body must be a JSON object.").restResponse
            }
            return nil
        } catch let error as JSONParseError {
            return ActionError.invalid(
                error.code.rawValue, "The body is not valid JSON (\(error)); nothing was changed.",
                details: ["line": .int(Int64(error.line)), "column": .int(Int64(error.column))]
            ).restResponse
        } catch {
            return ActionError.invalid("invalid_json", "The body is not valid JSON; nothing was changed.").restResponse
        }
    }

    /// The admin body (checked by ``adminOnly(_:)``; `{}` when empty).
    static func body(_ request: Request) -> JSON {
        (try? JSON.parse(bytes: request.body)) ?? [:]
    }

    /// `/metrics` is open unless `--metrics-token-file` configured a token; then it needs
    /// `Authorization: Bearer` with that token or the admin token.
    func metricsAllowed(_ request: Request) -> Bool {
        guard let expected = configuration.metricsToken else { return true }
        guard let token = Self.bearerToken(request) else { return false }
        return APIKey.equal(Array(token.utf8), Array(expected.utf8)) || AdminToken.verify(token, in: database)
    }

    /// Signing the dashboard in and out: `POST /admin/api/session` with `{"token": admin token}`
    /// sets the HttpOnly session cookie and answers the CSRF token; `GET` answers it again for
    /// the cookie's session (after a reload); `DELETE` signs out.
    func addAdminSessionRoutes(to router: inout Router) {
        let path = "/admin/api/session"
        let secure = configuration.publicURL.lowercased().hasPrefix("https://")
        router.post(path) { [unowned self] request in
            if let refusal = Self.badAdminBody(request) { return refusal }
            guard let token = Self.body(request)["token"]?.stringValue, !token.isEmpty else {
                return ActionError.invalid("missing_token", "Send {\"token\": \"<admin token>\"}.", param: "token").restResponse
            }
            return .later { [database] complete in
                DispatchQueue.global().async {
                    guard AdminToken.verify(token, in: database) else {
                        complete(AdminRefusal.unauthenticated.response)
                        return
                    }
                    do {
                        let session = try AdminSession.create(adminToken: token, in: database)
                        var response = jsonResponse(
                            ["signed_in": true, "csrf_token": .string(session.csrfToken),
                             "expires_at": .string(Timestamp.iso8601(seconds: session.expiresAt))], status: 201)
                        response.headers.add("Set-Cookie", AdminSession.setCookie(session.id, secure: secure))
                        complete(response)
                    } catch {
                        complete(Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry."))
                    }
                }
            }
        }
        router.get(path) { [unowned self] request in
            guard let id = AdminSession.cookie(in: request.headers.values("Cookie")),
                let expires = AdminSession.lookup(id, in: database)
            else { return AdminRefusal.unauthenticated.response }
            return jsonResponse(
                ["signed_in": true, "csrf_token": .string(AdminSession.csrfToken(for: id)),
                 "expires_at": .string(Timestamp.iso8601(seconds: expires))])
        }
        router.delete(path) { [unowned self] request in
            if let id = AdminSession.cookie(in: request.headers.values("Cookie")), AdminSession.lookup(id, in: database) != nil {
                guard AdminSession.csrfMatches(request.headers[AdminSession.csrfHeader], sessionID: id) else {
                    return AdminRefusal.csrf.response
                }
                do { try AdminSession.delete(id, in: database) } catch {
                    return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "Retry.")
                }
            }
            var response = jsonResponse(["signed_in": false])
            response.headers.add("Set-Cookie", AdminSession.setCookie(nil, secure: secure))
            return response
        }
    }
}
