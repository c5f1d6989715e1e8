import Crypto
import Foundation
import JSON

/// One entry of the audit trail: who did what to what, with which outcome and amount. Inputs
/// enter only as a digest; secrets never enter.
public struct TrailEntry: Sendable, Equatable {
    public var seq: Int64 = 0
    public var at: String = ""
    public var agentID: String?
    public var principal: String?
    public var action: String
    public var target: String?
    public var requestID: String?
    public var idempotencyKey: String?
    public var inputDigest: String?
    public var outcome: String
    public var errorCode: String?
    public var amount: Int64?
    public var currency: String?
    public var prevHash: String = ""
    public var hash: String = ""

    public init(
        agentID: String? = nil, principal: String? = nil, action: String, target: String? = nil, requestID: String? = nil,
        idempotencyKey: String? = nil, input: JSON? = nil, outcome: String, errorCode: String? = nil,
        amount: Int64? = nil, currency: String? = nil
    ) {
        self.agentID = agentID
        self.principal = principal
        self.action = action
        self.target = target
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        inputDigest = input.map { TrailEntry.digest($0) }
        self.outcome = outcome
        self.errorCode = errorCode
        self.amount = amount
        self.currency = currency
    }

    /// SHA-256 of the RFC 8785 form of a value, hex.
    public static func digest(_ value: JSON) -> String {
        hexString(SHA256.hash(data: Data(value.canonicalized())))
    }

    public static let genesis = String(repeating: "0", count: 64)

    /// The fields the hash covers, in canonical (RFC 8785) key order.
    private var members: [(key: String, value: JSON)] {
        [
            ("action", .string(action)), ("agent_id", JSON(agentID)), ("amount", amount.map(JSON.int) ?? .null),
            ("at", .string(at)), ("currency", JSON(currency)), ("error_code", JSON(errorCode)),
            ("idempotency_key", JSON(idempotencyKey)), ("input_digest", JSON(inputDigest)), ("outcome", .string(outcome)),
            ("principal", JSON(principal)), ("request_id", JSON(requestID)), ("seq", .int(seq)), ("target", JSON(target)),
        ]
    }

    /// The fields the hash covers, as JSON.
    public var content: JSON { .object(Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value) })) }

    /// The RFC 8785 form of `content`: what the chain hash and the Merkle leaf cover, written
    /// member by member (the same bytes as `content.canonicalized()`, without sorting).
    public var canonicalContent: [UInt8] { JSON.canonicalObject(sortedMembers: members) }

    /// The hash over the previous entry's hash and this entry's content.
    public func computedHash(prev: String) -> String {
        Self.chainHash(prev: prev, canonical: canonicalContent)
    }

    public static func chainHash(prev: String, canonical: [UInt8]) -> String {
        var bytes = Array(prev.utf8)
        bytes.append(0x0A)
        bytes += canonical
        return hexString(SHA256.hash(data: Data(bytes)))
    }

    /// The entry's leaf in the trail's Merkle tree: `SHA-256(0x00 || canonical content)`.
    public var leafHash: MerkleHash.Digest { MerkleHash.leaf(canonicalContent) }

    public var json: JSON {
        guard case .object(var o) = content else { return content }
        o["prev_hash"] = .string(prevHash)
        o["hash"] = .string(hash)
        return .object(o)
    }
}
