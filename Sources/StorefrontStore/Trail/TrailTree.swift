import Foundation
import Store
import StorefrontDomain

/// The audit trail as an RFC 6962 Merkle tree, kept in `trail_nodes`: every perfect subtree's
/// hash, keyed by level and index, written in the same transaction as the entry that completed
/// it. An append writes the leaf and, on average, one interior node (reading only the left
/// siblings it merges with), so it costs O(1) amortized; roots and proofs for any size are
/// built from O(log² n) stored nodes, never by rehashing the entries.
///
/// Leaf `i` (0-based) is trail entry `seq = i + 1`; its hash is `MerkleHash.leaf` over the
/// entry's canonical content (`TrailEntry.canonicalContent`), the bytes its chain hash covers.
public enum TrailTree {
    /// `trail_nodes.node`: level in the high bits, index at that level below.
    static func key(_ level: Int, _ index: Int64) -> Int64 { Int64(level) << 48 | index }

    /// A node of a perfect subtree, or nil when it is not stored.
    static func node(_ level: Int, _ index: Int64, in db: Connection) throws -> MerkleHash.Digest? {
        try db.queryOne("SELECT hash FROM trail_nodes WHERE node = ?", [.integer(key(level, index))])?[0].bytes
    }

    static func store(_ level: Int, _ index: Int64, _ hash: MerkleHash.Digest, in db: Connection) throws {
        try db.runDeferred(
            "INSERT INTO trail_nodes (node, hash) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET hash = excluded.hash",
            [.integer(key(level, index)), .blob(hash)])
    }

    /// Adds leaf `index` (the trail had `index` entries before it) inside the caller's transaction.
    static func append(index: Int64, leafHash: MerkleHash.Digest, in db: Connection) throws {
        var hash = leafHash
        var level = 0
        var position = index
        var pending: [(Int, Int64, MerkleHash.Digest)] = [(0, index, hash)]
        while position & 1 == 1 {
            guard let sibling = try node(level, position - 1, in: db) else {
                // Entries written before the tree existed (or by an older binary): build it.
                try rebuild(in: db)
                return
            }
            hash = MerkleHash.node(sibling, hash)
            level += 1
            position >>= 1
            pending.append((level, position, hash))
        }
        for (level, position, hash) in pending { try store(level, position, hash, in: db) }
    }

    /// Proofs and roots over the stored nodes of this connection's snapshot. Each node is read
    /// once per value (a receipt's root and inclusion proof share most of theirs).
    package static func proofs(in db: Connection) -> MerkleProofs {
        let seen = NodeMemo()
        return MerkleProofs { level, index in
            let key = key(level, index)
            if let hash = seen.nodes[key] { return hash }
            guard let hash = try node(level, index, in: db) else { throw TrailTreeError.missingNode(level: level, index: index) }
            seen.nodes[key] = hash
            return hash
        }
    }

    /// The nodes one `MerkleProofs` value has read.
    final class NodeMemo {
        var nodes: [Int64: MerkleHash.Digest] = [:]
    }

    /// The number of entries in the trail.
    package static func size(in db: Connection) throws -> Int64 {
        try db.queryOne("SELECT coalesce(max(seq), 0) FROM trail")?[0].int ?? 0
    }

    /// Whether every entry has its leaf (the tree is complete).
    static func isComplete(in db: Connection) throws -> Bool {
        let size = try size(in: db)
        if size == 0 { return true }
        return try node(0, size - 1, in: db) != nil
    }

    /// Rebuilds every node from the entries (a store from before the tree, on its first start).
    static func rebuild(in db: Connection) throws {
        try db.run("DELETE FROM trail_nodes")
        var frontier = MerkleFrontier()
        var after: Int64 = 0
        while true {
            let batch = try db.query("SELECT * FROM trail WHERE seq > ? ORDER BY seq LIMIT 5000", [.integer(after)])
            if batch.isEmpty { break }
            for row in batch {
                let entry = AuditTrail.entry(from: row)
                for (level, index, hash) in frontier.append(leafHash: entry.leafHash) { try store(level, index, hash, in: db) }
                after = entry.seq
            }
        }
    }

    /// Builds the tree if entries lack leaves; run once at start.
    public static func ensureComplete(database: Database) throws {
        if try database.read({ try isComplete(in: $0) }) { return }
        try database.write { db in if try !isComplete(in: db) { try rebuild(in: db) } }
    }
}

public enum TrailTreeError: Error, CustomStringConvertible {
    case missingNode(level: Int, index: Int64)

    public var description: String {
        switch self {
        case .missingNode(let level, let index): "the trail's Merkle tree lacks node \(index) at level \(level)"
        }
    }
}
