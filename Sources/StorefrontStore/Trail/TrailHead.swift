import Foundation
import JSON
import Store
import StorefrontDomain

/// A signed trail head (RFC 9162's signed tree head, in JSON): the trail's size, the Merkle
/// root over its first `treeSize` entries, when it was signed and by which key. Whoever keeps a
/// head can later demand a consistency proof: a store that truncated or rewrote any of those
/// entries cannot produce one, even with its signing key.
///
/// The signature is Ed25519 over the UTF-8 bytes of
/// `storefront-trail-head:v1:{kid}:{tree_size}:{root_hash}:{timestamp}` (root hash in lower-case
/// hex), base64url without padding.
public struct TrailHead: Sendable, Equatable {
    public var treeSize: Int64
    public var rootHash: MerkleHash.Digest
    public var timestamp: String
    public var keyID: String
    public var signature: String

    public static func payload(keyID: String, treeSize: Int64, rootHash: MerkleHash.Digest, timestamp: String) -> [UInt8] {
        Array("storefront-trail-head:v1:\(keyID):\(treeSize):\(MerkleHash.hex(rootHash)):\(timestamp)".utf8)
    }

    public var payload: [UInt8] { Self.payload(keyID: keyID, treeSize: treeSize, rootHash: rootHash, timestamp: timestamp) }

    /// Signs the root of a tree of `treeSize` entries now.
    public static func sign(treeSize: Int64, rootHash: MerkleHash.Digest, key: StoreSigningKey) throws -> TrailHead {
        let timestamp = AuditTrail.timestamp()
        let payload = payload(keyID: key.keyID, treeSize: treeSize, rootHash: rootHash, timestamp: timestamp)
        return TrailHead(
            treeSize: treeSize, rootHash: rootHash, timestamp: timestamp, keyID: key.keyID,
            signature: Base64URL.encode(try key.sign(payload)))
    }

    /// Whether the signature verifies with a public JWK (and the head names that key).
    public func verifies(with publicJWK: JSON) -> Bool {
        (publicJWK["kid"]?.stringValue.map { $0 == keyID } ?? true)
            && StoreSigningKey.verify(signature: signature, payload: payload, publicJWK: publicJWK)
    }

    public var json: JSON {
        [
            "tree_size": .int(treeSize), "root_hash": .string(MerkleHash.hex(rootHash)), "timestamp": .string(timestamp),
            "kid": .string(keyID), "alg": "EdDSA", "signature": .string(signature),
        ]
    }

    /// A head from its JSON form (as served, or a receipt's `trail_head`), or nil.
    public init?(json: JSON) {
        guard let size = json["tree_size"]?.intValue, size >= 0, let root = json["root_hash"]?.stringValue.flatMap(MerkleHash.fromHex),
            let timestamp = json["timestamp"]?.stringValue, let kid = json["kid"]?.stringValue,
            let signature = json["signature"]?.stringValue
        else { return nil }
        self.init(treeSize: size, rootHash: root, timestamp: timestamp, keyID: kid, signature: signature)
    }

    public init(treeSize: Int64, rootHash: MerkleHash.Digest, timestamp: String, keyID: String, signature: String) {
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.timestamp = timestamp
        self.keyID = keyID
        self.signature = signature
    }
}

extension AuditTrail {
    /// Signs a head over the trail as this connection sees it (inside a write, the entries just
    /// appended included).
    public func signHead(in db: Connection) throws -> TrailHead {
        let size = try TrailTree.size(in: db)
        return try TrailHead.sign(treeSize: size, rootHash: try TrailTree.proofs(in: db).root(size: size), key: signingKey)
    }

    /// Keeps a signed head in the store (checkpoints and clean stops), for `trail verify`.
    func storeHead(_ head: TrailHead, in db: Connection) throws {
        try db.run(
            "INSERT INTO trail_heads (tree_size, root_hash, timestamp, kid, signature) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [.integer(head.treeSize), .text(MerkleHash.hex(head.rootHash)), .text(head.timestamp), .text(head.keyID),
             .text(head.signature)])
    }
}
