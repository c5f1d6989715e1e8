import Foundation
import Synchronization
import HTTPServer
import JSON
import JourneyAudit
import StorefrontActions
import StorefrontDomain
import StorefrontStore

extension Gateway {
    func adminResult(_ work: () throws -> JSON, status: Int = 200) -> Response {
        do {
            return jsonResponse(try work(), status: status)
        } catch let error as ActionError {
            return error.restResponse
        } catch {
            return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "\(error)")
        }
    }

    func addAdminRoutes(to router: inout Router) {
        let prefix = "/admin/api"
        addAdminSessionRoutes(to: &router)
        router.get(prefix + "/agents", adminOnly { [unowned self] _ in
            adminResult { ["agents": .array(try agents.list().map(\.json))] }
        })
        router.post(prefix + "/agents", adminOnly { [unowned self] request in
            registerAgent(Self.body(request))
        })
        router.post(prefix + "/agents/{id}/revoke", adminOnly { [unowned self] request in
            let id = request.pathParameters["id"] ?? ""
            return adminResult {
                guard try agents.revoke(id) else { throw ActionError.notFound("No active agent \(id).") }
                return ["id": .string(id), "status": "revoked"]
            }
        })
        router.post(prefix + "/agents/{id}/rotate-key", adminOnly { [unowned self] request in
            let id = request.pathParameters["id"] ?? ""
            return adminResult {
                guard let key = try agents.rotateKey(id) else { throw ActionError.notFound("No active agent \(id).") }
                return ["id": .string(id), "api_key": .string(key), "api_key_note": "Shown once; the previous key no longer works."]
            }
        })
        router.get(prefix + "/wallets/{id}", adminOnly { [unowned self] request in
            adminResult {
                guard let wallet = try commerce.wallet(request.pathParameters["id"] ?? "") else { throw ActionError.notFound("No such wallet.") }
                return ["wallet": wallet]
            }
        })
        router.post(prefix + "/wallets/{id}/fund", adminOnly { [unowned self] request in
            let body = Self.body(request)
            return adminResult {
                guard let amount = body["amount"]?.intValue else {
                    throw ActionError.invalid("invalid_amount", "amount (minor units) is required.", param: "amount")
                }
                return ["wallet": try commerce.fund(request.pathParameters["id"] ?? "", amount: amount, note: body["note"]?.stringValue, by: "admin")]
            }
        })
        router.post(prefix + "/wallets/{id}/limits", adminOnly { [unowned self] request in
            adminResult { ["wallet": try commerce.setControls(request.pathParameters["id"] ?? "", Self.body(request), by: "admin")] }
        })
        router.get(prefix + "/approvals", adminOnly { [unowned self] request in
            adminResult {
                let status = request.query("status").flatMap { $0 == "all" ? nil : $0 }
                return ["approvals": .array(try commerce.approvals(status: status))]
            }
        })
        for decision in [Commerce.Decision.approve, .deny] {
            router.post(prefix + "/approvals/{id}/\(decision.rawValue)", adminOnly { [unowned self] request in
                adminResult { try commerce.decide(request.pathParameters["id"] ?? "", decision, by: "admin") }
            })
        }
        router.post(prefix + "/orders/{id}/fulfillment", adminOnly { [unowned self] request in
            adminResult({
                let body = Self.body(request)
                return try commerce.recordFulfillment(
                    orderID: request.pathParameters["id"] ?? "", type: body["type"]?.stringValue ?? "", lineItems: body["line_items"],
                    trackingNumber: body["tracking_number"]?.stringValue, trackingURL: body["tracking_url"]?.stringValue,
                    carrier: body["carrier"]?.stringValue, description: body["description"]?.stringValue, by: "admin")
            }, status: 201)
        })
        router.get(prefix + "/webhooks", adminOnly { [unowned self] request in
            adminResult { ["deliveries": .array(try WebhookDispatcher.list(in: database, status: request.query("status")))] }
        })
        router.post(prefix + "/webhooks/{id}/replay", adminOnly { [unowned self] request in
            adminResult {
                guard let id = request.pathParameters["id"].flatMap(Int64.init), try WebhookDispatcher.replay(id, in: database) else {
                    throw ActionError.notFound("No webhook delivery \(request.pathParameters["id"] ?? "").")
                }
                return ["id": .int(id), "status": "pending"]
            }
        })
        router.get(prefix + "/audits", adminOnly { [unowned self] _ in
            adminResult { ["audits": .array(try AuditHistory.list(in: database))] }
        })
        router.get(prefix + "/audits/{id}", adminOnly { [unowned self] request in
            adminResult {
                guard let id = request.pathParameters["id"].flatMap(Int64.init), let report = try AuditHistory.report(id, in: database)
                else { throw ActionError.notFound("No audit report \(request.pathParameters["id"] ?? "").") }
                return report
            }
        })
        // The journey auditor's self-check: this gateway, audited over HTTP as an agent sees it.
        // The audit fetches this gateway over HTTP for up to its time limit: it runs off the server's
        // threads (the connection waits suspended), one at a time.
        router.post(prefix + "/audits", adminOnly { [unowned self] _ in
            guard selfAuditRunning.withLock({ running in
                if running { return false }
                running = true
                return true
            }) else {
                return Response.error(status: 409, type: "invalid_request_error", code: "audit_running", message: "An audit of this store is running; wait for it to finish.")
            }
            return .later { complete in
                DispatchQueue.global().async {
                    defer { selfAuditRunning.withLock { $0 = false } }
                    complete(self.adminResult(
                        {
                            // The audit's requests carry the self-audit token: they are the merchant's, not
                            // agent traffic (its probes as ChatGPT-User and a browser must not be counted).
                            var gatherer = Gatherer(base: self.configuration.publicURL)
                            gatherer.limits.siteHeaders = [Self.selfAuditHeader: self.selfAuditToken]
                            let report = JourneyAudit(target: self.configuration.publicURL, gathered: gatherer.gather(), rubric: try .bundled()).run()
                            let id = try AuditHistory.save(report, in: self.database)
                            return ["id": .int(id), "report": report]
                        }, status: 201))
                }
            }
        })
        router.get(prefix + "/trail", adminOnly { [unowned self] request in
            adminResult {
                let after = request.query("after").flatMap(Int64.init) ?? 0
                let limit = min(1000, max(1, request.query("limit").flatMap(Int.init) ?? 100))
                let entries = try AuditTrail.entries(
                    in: database, after: after, limit: limit, agentID: request.query("agent_id"), action: request.query("action"))
                return ["entries": .array(entries.map(\.json)), "next_after": entries.last.map { .int($0.seq) } ?? .null]
            }
        })
        router.get(prefix + "/trail/verify", adminOnly { [unowned self] _ in
            adminResult {
                let result = try AuditTrail.verify(database: database, publicJWK: signingKey.publicJWK)
                return [
                    "intact": .bool(result.intact), "entries": .int(result.entries), "checkpoints": .int(Int64(result.checkpoints)),
                    "heads": .int(Int64(result.heads)), "root_hash": result.intact ? .string(MerkleHash.hex(result.root)) : .null,
                    "first_bad_seq": result.firstBadSeq.map(JSON.int) ?? .null, "problem": JSON(result.problem?.rawValue),
                    "detail": JSON(result.detail),
                ]
            }
        })
    }
}

/// Whether this process's gateway is auditing itself (one audit at a time).
private let selfAuditRunning = Mutex(false)
