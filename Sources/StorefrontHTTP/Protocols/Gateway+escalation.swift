import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain

/// The page a purchase above the approval threshold hands off to (UCP's `continue_url`):
/// `GET /checkout-sessions/{id}/continue` shows the human principal what their agent wants to
/// buy, for how much, and until when the money is held. The agent (or its platform) can open
/// this page too, so a decision needs the principal: "Send me a confirmation link" sends a
/// link signed by the store's key, valid 15 minutes, to the principal (no mail leaves in
/// development: it is printed to the gateway's log, as every one-time link of this store);
/// that link's page approves or declines with one press. The link names one approval and
/// the principal, so it cannot decide another purchase, and a decision is made once.
extension Gateway {
    static let confirmationLinkTTL: Int64 = 15 * 60
    /// One link per checkout this often at most (a page anyone can load must not flood the log).
    static let confirmationLinkInterval: Int64 = 30

    func addEscalationRoutes(to router: inout Router) {
        router.get("/checkout-sessions/{id}/continue") { [unowned self] request in self.continuePage(request) }
        router.post("/checkout-sessions/{id}/continue") { [unowned self] request in self.sendConfirmationLink(request) }
        router.get("/checkout-sessions/{id}/confirm") { [unowned self] request in self.confirmPage(request) }
        router.post("/checkout-sessions/{id}/confirm") { [unowned self] request in self.confirmDecision(request) }
    }

    /// A page anyone may load costs its address a read (these routes are not charged by path).
    func chargedPage(_ request: Request) -> Response? {
        guard let limiter = rateLimiter, let decision = chargeRoute(request, .reads, limiter: limiter), !decision.allowed else {
            return nil
        }
        return refusal(decision, identity: nil, action: nil)
    }

    func continuePage(_ request: Request) -> Response {
        if let refused = chargedPage(request) { return refused }
        let id = request.pathParameters["id"] ?? ""
        guard let found = try? commerce.checkoutForPrincipal(id) else { return escalationPage("Checkout not found", "<p>There is no checkout \(htmlEscape(id)).</p>", status: 404) }
        let checkout = found.checkout
        var body = "<h1>Approve a purchase</h1>" + purchaseSummary(checkout)
        let approval = checkout["approval"]
        switch (checkout["status"]?.stringValue, approval?["status"]?.stringValue) {
        case ("pending_approval", "pending"):
            body += """
                <p>An agent acting for <strong>\(htmlEscape(Self.masked(found.principal)))</strong> wants to buy this. It is above the approval threshold that principal set, so the money is held until they decide (until \(htmlEscape(approval?["expires_at"]?.stringValue ?? ""))).</p>
                <form method="post" action="/checkout-sessions/\(htmlEscape(id))/continue">
                <button type="submit" id="send-link">I am the principal: send me a confirmation link</button>
                </form>
                <p class="muted">The link goes to the principal only; approving or declining happens on its page.</p>
                <p id="principal-page">Or sign in on <a href="/principal/">your page</a> to see this and every other purchase your agents are waiting on, their wallets and limits.</p>
                """
        default:
            body += "<p id=\"state\">This purchase is <strong>\(htmlEscape(Self.stateWords(checkout)))</strong>; nothing is waiting for a decision.</p>"
        }
        return escalationPage("Approve a purchase", body)
    }

    func sendConfirmationLink(_ request: Request) -> Response {
        if let refused = chargedPage(request) { return refused }
        let id = request.pathParameters["id"] ?? ""
        guard let found = try? commerce.checkoutForPrincipal(id), found.checkout["status"]?.stringValue == "pending_approval",
            let approvalID = found.checkout["approval"]?["id"]?.stringValue
        else {
            return escalationPage("Nothing to approve", "<p>Checkout \(htmlEscape(id)) is not waiting for a decision.</p>", status: 409)
        }
        let now = unixNow()
        if let last = confirmationLinksSent[id], now - last < Self.confirmationLinkInterval {
            return escalationPage(
                "Link already sent",
                "<p id=\"sent\">A confirmation link was sent to \(htmlEscape(Self.masked(found.principal))) moments ago; it is valid for 15 minutes.</p>",
                status: 429)
        }
        confirmationLinksSent.insert(id, now)
        let expires = now + Self.confirmationLinkTTL
        guard let token = try? confirmationToken(checkoutID: id, approvalID: approvalID, principal: found.principal, expires: expires) else {
            return escalationPage("Try again", "<p>The link could not be made; try again.</p>", status: 503)
        }
        let link = configuration.publicURL + "/checkout-sessions/\(id)/confirm?token=\(token)"
        // No mail leaves this gateway: the link is written to its log for the principal.
        FileHandle.standardError.write(
            Data("confirmation link for \(found.principal) (checkout \(id), approval \(approvalID), valid until \(isoTime(expires))): \(link)\n".utf8))
        return escalationPage(
            "Link sent",
            "<p id=\"sent\">A confirmation link was sent to \(htmlEscape(Self.masked(found.principal))). Open it to approve or decline; it is valid for 15 minutes.</p>")
    }

    func confirmPage(_ request: Request) -> Response {
        if let refused = chargedPage(request) { return refused }
        let id = request.pathParameters["id"] ?? ""
        let token = request.query("token") ?? ""
        guard let claim = verifiedConfirmation(token, checkoutID: id), let found = try? commerce.checkoutForPrincipal(id),
            found.principal == claim.principal
        else {
            return escalationPage("Link not valid", "<p id=\"invalid\">This confirmation link is not valid or has expired. Ask for a new one on the purchase's page.</p>", status: 403)
        }
        var body = "<h1>Approve or decline</h1><p>Signed in by link as <strong>\(htmlEscape(found.principal))</strong>.</p>"
            + purchaseSummary(found.checkout)
        if found.checkout["approval"]?["id"]?.stringValue == claim.approvalID, found.checkout["approval"]?["status"]?.stringValue == "pending" {
            body += """
                <form method="post" action="/checkout-sessions/\(htmlEscape(id))/confirm">
                <input type="hidden" name="token" value="\(htmlEscape(token))">
                <button type="submit" name="decision" value="approve" id="approve">Approve and pay</button>
                <button type="submit" name="decision" value="deny" id="deny">Decline</button>
                </form>
                """
        } else {
            body += "<p id=\"state\">This purchase is <strong>\(htmlEscape(Self.stateWords(found.checkout)))</strong>.</p>"
        }
        return escalationPage("Approve or decline", body)
    }

    func confirmDecision(_ request: Request) -> Response {
        if let refused = chargedPage(request) { return refused }
        let id = request.pathParameters["id"] ?? ""
        let form = Self.formFields(request.body)
        guard let claim = verifiedConfirmation(form["token"] ?? "", checkoutID: id),
            let found = try? commerce.checkoutForPrincipal(id), found.principal == claim.principal
        else {
            return escalationPage("Link not valid", "<p id=\"invalid\">This confirmation link is not valid or has expired.</p>", status: 403)
        }
        guard let decision = form["decision"].flatMap(Commerce.Decision.init(rawValue:)) else {
            return escalationPage("Choose", "<p>Choose approve or decline.</p>", status: 400)
        }
        // The decision writes to the store: off the server's threads, as the merchant's own.
        return .later { complete in
            DispatchQueue.global().async { complete(self.decide(claim.approvalID, decision, principal: claim.principal, request: request)) }
        }
    }

    func decide(_ approvalID: String, _ decision: Commerce.Decision, principal: String, request: Request) -> Response {
        let claim = (approvalID: approvalID, principal: principal)
        do {
            let result = try commerce.decide(claim.approvalID, decision, by: claim.principal)
            let checkout = result["checkout"] ?? [:]
            var body = "<h1>\(decision == .approve ? "Approved" : "Declined")</h1>" + purchaseSummary(checkout)
            if let order = result["order"]?["id"]?.stringValue {
                body += "<p id=\"result\">Approved: order <code>\(htmlEscape(order))</code> is placed and paid from the agent's wallet.</p>"
            } else {
                body += "<p id=\"result\">Declined: nothing was bought and the held money is back in the agent's wallet.</p>"
            }
            var response = escalationPage(decision == .approve ? "Approved" : "Declined", body)
            response.noteApprovedOrder(result, request: request)
            return response
        } catch let error as ActionError {
            return escalationPage("Not decided", "<p id=\"result\">\(htmlEscape(error.message))</p>", status: error.status)
        } catch {
            return escalationPage("Try again", "<p>The decision could not be saved; try again.</p>", status: 503)
        }
    }

    // MARK: The link

    /// `base64url(["confirm", checkout, approval, principal, expires]).base64url(Ed25519 signature)`
    /// (a JSON array: no field can spill into another, whatever it holds).
    func confirmationToken(checkoutID: String, approvalID: String, principal: String, expires: Int64) throws -> String {
        let payload = JSON.array(["confirm", .string(checkoutID), .string(approvalID), .string(principal), .int(expires)]).serialized()
        return Base64URL.encode(payload) + "." + Base64URL.encode(try signingKey.sign(payload))
    }

    func verifiedConfirmation(_ token: String, checkoutID: String) -> (approvalID: String, principal: String)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(String(parts[0])),
            StoreSigningKey.verify(signature: String(parts[1]), payload: Array(payload), publicJWK: signingKey.publicJWK)
        else { return nil }
        guard let fields = (try? JSON.parse(bytes: Array(payload)))?.arrayValue, fields.count == 5, fields[0] == "confirm",
            fields[1].stringValue == checkoutID, let approvalID = fields[2].stringValue, let principal = fields[3].stringValue,
            let expires = fields[4].intValue, expires >= unixNow()
        else {
            return nil
        }
        return (approvalID, principal)
    }

    // MARK: Rendering

    func purchaseSummary(_ checkout: JSON) -> String {
        var rows = ""
        for line in checkout["line_items"]?.arrayValue ?? [] {
            let unit = Money(json: line["unit_price"])?.displayString ?? ""
            let total = Money(json: line["total"])?.displayString ?? ""
            rows += "<tr><td>\(htmlEscape(line["name"]?.stringValue ?? ""))</td><td>\(line["quantity"]?.intValue ?? 1)</td><td>\(htmlEscape(unit))</td><td>\(htmlEscape(total))</td></tr>"
        }
        let total = Money(json: checkout["totals"]?["total"])?.displayString ?? ""
        return """
            <p class="muted">\(htmlEscape(manifests.storeName)) · checkout <code>\(htmlEscape(checkout["id"]?.stringValue ?? ""))</code></p>
            <table><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th>Total</th></tr></thead><tbody>\(rows)</tbody></table>
            <p class="price" id="total">\(htmlEscape(total))</p>
            """
    }

    static func stateWords(_ checkout: JSON) -> String {
        switch (checkout["status"]?.stringValue, checkout["approval"]?["status"]?.stringValue) {
        case ("completed", _): return "approved and paid"
        case (_, "denied"): return "declined"
        case (_, "expired"): return "expired"
        case ("canceled", _): return "canceled"
        default: return checkout["status"]?.stringValue ?? "unknown"
        }
    }

    /// `ana@example.com` → `a•••@example.com`.
    static func masked(_ principal: String) -> String {
        guard let at = principal.firstIndex(of: "@"), at > principal.startIndex else { return principal.isEmpty ? "the principal" : String(principal.prefix(1)) + "•••" }
        return String(principal[principal.startIndex]) + "•••" + principal[at...]
    }

    func escalationPage(_ title: String, _ body: String, status: Int = 200) -> Response {
        let html = htmlPage(title: "\(title) — \(manifests.storeName)", description: title, body: body, storeLinks: false)
        var response = Response(status: status, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
        response.headers.add("Cache-Control", "no-store")
        response.headers.add("X-Frame-Options", "DENY")
        response.headers.add("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
        response.headers.add("Referrer-Policy", "no-referrer")
        return response
    }

    /// `application/x-www-form-urlencoded` fields (the last of a repeated name wins).
    static func formFields(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body.prefix(8192), as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
