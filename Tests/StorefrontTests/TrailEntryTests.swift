import Foundation
import JSON
@testable import StorefrontDomain
@testable import StorefrontStore
import Testing

/// A trail entry's hashed bytes are written member by member (the writer hashes two per
/// purchase); they must stay the RFC 8785 form of its content, or every stored hash, receipt
/// and signed head would stop verifying.
@Suite("Trail entries' canonical content")
struct TrailEntryTests {
    @Test("the direct form is byte for byte the canonicalized content, for present, absent and awkward fields")
    func directFormIsCanonical() {
        let texts: [String?] = [nil, "", "plain", "quote \" and \\ backslash", "line\nbreak\ttab\u{1}", "é, 漢字, 😀", "\u{7f}"]
        let amounts: [Int64?] = [nil, 0, -1, 12_300, Int64.max, Int64.min]
        var checked = 0
        for (i, text) in texts.enumerated() {
            for (j, amount) in amounts.enumerated() {
                var entry = TrailEntry(
                    agentID: text, principal: texts[(i + 1) % texts.count], action: text ?? "wallet.debit",
                    target: texts[(i + j) % texts.count], requestID: texts[(i + 2) % texts.count],
                    idempotencyKey: texts[(i + 3) % texts.count], input: text.map { ["q": .string($0)] },
                    outcome: "ok", errorCode: texts[(j + 4) % texts.count], amount: amount, currency: j % 2 == 0 ? "USD" : nil)
                entry.seq = Int64(i * 100 + j)
                entry.at = "2026-12-06T18:00:00.123Z"
                #expect(entry.canonicalContent == entry.content.canonicalized(), "entry \(i), \(j)")
                checked += 1
            }
        }
        #expect(checked == texts.count * amounts.count)
    }
}
