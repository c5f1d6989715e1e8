import Foundation
import JSON
import Store

/// A purchase's receipt: its trail entry (the `wallet.debit`), the entry's leaf hash, a trail
/// head signed over a tree that includes it, and the inclusion proof from the leaf to that
/// head's root. An agent checks it on its own, right away (nothing to fetch but the JWKS), and
/// can later ask for a consistency proof from this head to any newer one: the store cannot drop
/// or change the purchase without failing that proof.
extension AuditTrail {
    static let receiptHowTo = """
        leaf_hash = SHA-256(0x00 || RFC 8785 JSON of entry without prev_hash and hash); inclusion_proof leads from it \
        to trail_head.root_hash (RFC 9162 2.1.3.2, leaf index seq - 1); trail_head.signature is Ed25519 (key kid in \
        /.well-known/jwks.json) over "storefront-trail-head:v1:{kid}:{tree_size}:{root_hash}:{timestamp}"
        """

    /// A receipt for `entry`, signed now over the trail as `db` sees it (the entry included).
    public func receipt(for entry: TrailEntry, orderID: String, in db: Connection) throws -> JSON {
        let head = try signHead(in: db)
        let proof = try TrailTree.proofs(in: db).inclusion(index: entry.seq - 1, size: head.treeSize)
        var stored = entry.content.objectValue ?? [:]
        stored["prev_hash"] = .string(entry.prevHash)
        stored["hash"] = .string(entry.hash)
        return [
            "order_id": .string(orderID), "seq": .int(entry.seq), "leaf_index": .int(entry.seq - 1),
            "leaf_hash": .string(MerkleHash.hex(entry.leafHash)), "entry": .object(stored),
            "inclusion_proof": .array(proof.map { .string(MerkleHash.hex($0)) }), "trail_head": head.json,
            "how_to_verify": .string(Self.receiptHowTo),
        ]
    }

    /// The receipt of an order placed earlier (a repeated complete_checkout), against the trail now.
    public func receipt(forOrder orderID: String, in db: Connection) throws -> JSON {
        guard let row = try db.queryOne(
            "SELECT * FROM trail WHERE action = 'wallet.debit' AND target = ? ORDER BY seq LIMIT 1", [.text(orderID)])
        else { return .null }
        return try receipt(for: Self.entry(from: row), orderID: orderID, in: db)
    }
}
