import Foundation
import HTTPServer
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// A signed request's verification, kept for the rest of its handling on the thread that did
/// it. A signature's nonce is single-use, so when the rate limiter verifies a signed request to
/// find whose bucket it spends, the route that runs next (`GET /inbox`, say) must get the same
/// answer rather than "replayed nonce". Only signed requests with an id are kept, one per thread,
/// and only the same request (by id) recalls it.
enum VerifiedSignature {
    final class Entry {
        let requestID: String
        let result: Result<Identity?, AuthenticationError>
        init(requestID: String, result: Result<Identity?, AuthenticationError>) {
            self.requestID = requestID
            self.result = result
        }
    }

    static let key = "storefront.verified-signature"

    static func isSigned(_ request: Request) -> Bool {
        request.headers["Authorization"] == nil
            && (request.headers["Signature-Input"] != nil || request.headers["Signature"] != nil) && !request.id.isEmpty
    }

    static func remember(_ result: Result<Identity?, AuthenticationError>, for request: Request) {
        guard isSigned(request) else { return }
        Thread.current.threadDictionary[key] = Entry(requestID: request.id, result: result)
    }

    static func recalled(for request: Request) -> Result<Identity?, AuthenticationError>? {
        guard isSigned(request), let entry = Thread.current.threadDictionary[key] as? Entry, entry.requestID == request.id else {
            return nil
        }
        return entry.result
    }
}
