import Foundation
import JSON
import Store
import StorefrontDomain

/// A purchase's receipt: its trail entry (the `wallet.debit`), the entry's leaf hash, a trail
/// head signed over a tree that includes it, and the inclusion proof from the leaf to that
/// head's root. An agent checks it on its own, right away (nothing to fetch but the JWKS), and
/// can later ask for a consistency proof from this head to any newer one: the store cannot drop
/// or change the purchase without failing that proof. To check it: `leaf_hash` is SHA-256 of
/// 0x00 and the RFC 8785 JSON of `entry` without `prev_hash` and `hash`; `inclusion_proof` leads
/// from it to `trail_head.root_hash` (RFC 9162 §2.1.3.2, leaf index `seq - 1`); the head's
/// signature verifies with the key named by its `kid` in `/.well-known/jwks.json`.
extension AuditTrail {
    /// A receipt for `entry`, signed now over the trail as `db` sees it (the entry included),
    /// or over its first `treeSize` entries when the caller knows that many are there.
    public func receipt(for entry: TrailEntry, orderID: String, treeSize: Int64? = nil, in db: Connection) throws -> JSON {
        let proofs = TrailTree.proofs(in: db)
        // A tree that would not include the entry is never signed: the size is read instead.
        var size = treeSize ?? 0
        if size < entry.seq { size = try TrailTree.size(in: db) }
        let head = try TrailHead.sign(treeSize: size, rootHash: try proofs.root(size: size), key: signingKey)
        let proof = try proofs.inclusion(index: entry.seq - 1, size: size)
        let leaf = try proofs.hash(entry.seq - 1, entry.seq)
        var stored = entry.content.objectValue ?? [:]
        stored["prev_hash"] = .string(entry.prevHash)
        stored["hash"] = .string(entry.hash)
        return [
            "order_id": .string(orderID), "seq": .int(entry.seq), "leaf_index": .int(entry.seq - 1),
            "leaf_hash": .string(MerkleHash.hex(leaf)), "entry": .object(stored),
            "inclusion_proof": .array(proof.map { .string(MerkleHash.hex($0)) }), "trail_head": head.json,
        ]
    }

    /// The receipt of an order placed earlier (a repeated complete_checkout), against the trail
    /// now: the order names its debit's seq (orders placed before receipts existed have none).
    public func receipt(forOrder order: Order, in db: Connection) throws -> JSON {
        guard let seq = order.trailSeq,
            let row = try db.queryOne("SELECT * FROM trail WHERE seq = ?", [.integer(seq)]),
            row["action"].string == "wallet.debit", row["target"].string == order.id
        else { return .null }
        return try receipt(for: Self.entry(from: row), orderID: order.id, in: db)
    }
}
