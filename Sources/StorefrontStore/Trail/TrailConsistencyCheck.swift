import Foundation
import JSON
import Store
import StorefrontDomain

/// `trail verify --against HEAD.json`: holds the store to a head saved earlier (from
/// `/.well-known/trail-head`, or a receipt's `trail_head`). The saved head pins the Merkle root
/// of the first `tree_size` entries, so the check fails when any of them was edited, removed,
/// renumbered or cut off, whoever did it and with whatever key. It recomputes every leaf from the
/// entries themselves, then checks the consistency proof the store serves (RFC 9162 §2.1.4.2)
/// from the saved root to the current one.
public struct TrailConsistencyCheck: Sendable {
    public var saved: TrailHead
    public var currentSize: Int64 = 0
    public var currentRoot: MerkleHash.Digest = MerkleHash.empty
    public var proofLength = 0
    /// What is wrong, or nil when the store is consistent with the saved head.
    public var problem: String?

    public var consistent: Bool { problem == nil }

    /// Reads a saved head: the head's JSON, or a receipt (or `complete_checkout` result) with one.
    public static func head(from json: JSON) -> TrailHead? {
        TrailHead(json: json) ?? json["trail_head"].flatMap(TrailHead.init(json:))
            ?? json["receipt"]?["trail_head"].flatMap(TrailHead.init(json:))
    }

    public static func run(saved: TrailHead, database: Database, publicJWK: JSON) throws -> TrailConsistencyCheck {
        var check = TrailConsistencyCheck(saved: saved)
        guard saved.verifies(with: publicJWK) else {
            check.problem = "the saved head's signature does not verify with the store's key (the head names key \(saved.keyID), "
                + "the store's is \(publicJWK["kid"]?.stringValue ?? "?")): the key was replaced, or the head is not this store's"
            return check
        }
        var frontier = MerkleFrontier()
        var savedRoot: MerkleHash.Digest? = saved.treeSize == 0 ? MerkleHash.empty : nil
        var after: Int64 = 0
        while true {
            let batch = try AuditTrail.entries(in: database, after: after, limit: 5000)
            if batch.isEmpty { break }
            for entry in batch {
                frontier.append(leafHash: entry.leafHash)
                if frontier.size == saved.treeSize { savedRoot = frontier.root }
            }
            after = batch.last!.seq
        }
        check.currentSize = frontier.size
        check.currentRoot = frontier.root
        guard frontier.size >= saved.treeSize, let savedRoot else {
            check.problem = "truncated: the saved head covers \(saved.treeSize) entries but the trail now has \(frontier.size)"
            return check
        }
        guard savedRoot == saved.rootHash else {
            check.problem = "rewritten: the first \(saved.treeSize) entries no longer hash to the saved head's root "
                + "\(MerkleHash.hex(saved.rootHash)) (now \(MerkleHash.hex(savedRoot))): an entry among them was edited, "
                + "removed, inserted or renumbered"
            return check
        }
        // The proof the store serves must agree too (it is built from the stored tree nodes).
        if saved.treeSize > 0 {
            let size = frontier.size
            let proof: [MerkleHash.Digest]
            do {
                proof = try database.read { db in try TrailTree.proofs(in: db).consistency(first: saved.treeSize, second: size) }
            } catch {
                check.problem = "the store cannot build a consistency proof: \(error)"
                return check
            }
            check.proofLength = proof.count
            guard MerkleVerification.consistency(
                first: saved.treeSize, second: size, firstRoot: saved.rootHash, secondRoot: check.currentRoot, proof: proof)
            else {
                check.problem = "the store's Merkle tree nodes disagree with its entries: the consistency proof from "
                    + "\(saved.treeSize) to \(size) does not verify"
                return check
            }
        }
        return check
    }
}
