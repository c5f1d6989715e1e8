import Foundation
import JSON
import Store
import StorefrontDomain

/// The append-only, hash-chained audit trail, with checkpoints signed by the store's key, and
/// an RFC 6962 Merkle tree over the same entries (`TrailTree`) whose signed heads are published.
/// Appends happen inside the writer's transaction, next to the change they record, so an
/// entry exists exactly when its change does.
public struct AuditTrail: Sendable {
    let signingKey: StoreSigningKey
    /// A checkpoint is signed after this many entries.
    public var checkpointEvery: Int64 = 100

    public init(signingKey: StoreSigningKey, checkpointEvery: Int64 = 100) {
        self.signingKey = signingKey
        self.checkpointEvery = checkpointEvery
    }

    static func timestamp() -> String { Timestamp.iso8601(Date(), milliseconds: true) }

    /// Appends within the caller's write transaction; returns the stored entry.
    @discardableResult
    public func append(_ entry: TrailEntry, in db: Connection) throws -> TrailEntry {
        var entry = entry
        let last = try db.queryOne("SELECT seq, hash FROM trail ORDER BY seq DESC LIMIT 1")
        entry.seq = (last?[0].int ?? 0) + 1
        entry.prevHash = last?[1].string ?? TrailEntry.genesis
        entry.at = Self.timestamp()
        let canonical = entry.canonicalContent
        entry.hash = TrailEntry.chainHash(prev: entry.prevHash, canonical: canonical)
        try db.runDeferred(
            """
            INSERT INTO trail (seq, at, agent_id, principal, action, target, request_id, idempotency_key, input_digest,
                               outcome, error_code, amount, currency, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(entry.seq), .text(entry.at), SQLValue(entry.agentID), SQLValue(entry.principal), .text(entry.action),
                SQLValue(entry.target), SQLValue(entry.requestID), SQLValue(entry.idempotencyKey), SQLValue(entry.inputDigest),
                .text(entry.outcome), SQLValue(entry.errorCode), entry.amount.map(SQLValue.integer) ?? .null,
                SQLValue(entry.currency), .text(entry.prevHash), .text(entry.hash),
            ])
        try TrailTree.append(index: entry.seq - 1, leafHash: MerkleHash.leaf(canonical), in: db)
        if entry.seq % checkpointEvery == 0 { try checkpoint(seq: entry.seq, hash: entry.hash, in: db) }
        return entry
    }

    static func checkpointPayload(seq: Int64, hash: String) -> [UInt8] { Array("storefront-trail:\(seq):\(hash)".utf8) }

    func checkpoint(seq: Int64, hash: String, in db: Connection) throws {
        let signature = Base64URL.encode(try signingKey.sign(Self.checkpointPayload(seq: seq, hash: hash)))
        try db.run(
            "INSERT INTO trail_checkpoints (seq, hash, kid, signature, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (seq) DO UPDATE SET hash = excluded.hash, kid = excluded.kid, signature = excluded.signature, at = excluded.at",
            [.integer(seq), .text(hash), .text(signingKey.keyID), .text(signature), .text(Self.timestamp())])
        // A signed head at every checkpoint: the Merkle root an outsider can hold the store to.
        try storeHead(try signHead(in: db), in: db)
    }

    /// Signs a checkpoint at the current end of the trail unless one is there already: on a
    /// clean stop, and every sweep, so a checkpoint is never older than the sweep interval.
    public func checkpointNow(database: Database) throws {
        try database.write(priority: .background) { db in
            guard let last = try db.queryOne("SELECT seq, hash FROM trail ORDER BY seq DESC LIMIT 1"),
                let seq = last[0].int, let hash = last[1].string
            else { return }
            if try db.queryOne("SELECT 1 FROM trail_checkpoints WHERE seq = ?", [.integer(seq)]) != nil { return }
            try checkpoint(seq: seq, hash: hash, in: db)
        }
    }

    static func entry(from row: Row) -> TrailEntry {
        var e = TrailEntry(action: row["action"].string ?? "", outcome: row["outcome"].string ?? "")
        e.seq = row["seq"].int ?? 0
        e.at = row["at"].string ?? ""
        e.agentID = row["agent_id"].string
        e.principal = row["principal"].string
        e.target = row["target"].string
        e.requestID = row["request_id"].string
        e.idempotencyKey = row["idempotency_key"].string
        e.inputDigest = row["input_digest"].string
        e.errorCode = row["error_code"].string
        e.amount = row["amount"].int
        e.currency = row["currency"].string
        e.prevHash = row["prev_hash"].string ?? ""
        e.hash = row["hash"].string ?? ""
        return e
    }

    public static func entries(in database: Database, after seq: Int64 = 0, limit: Int = 1000, agentID: String? = nil,
                               action: String? = nil) throws -> [TrailEntry] {
        try database.read { db in
            try db.query(
                """
                SELECT * FROM trail WHERE seq > ?1 AND (?2 IS NULL OR agent_id = ?2) AND (?3 IS NULL OR action = ?3)
                ORDER BY seq LIMIT ?4
                """, [.integer(seq), SQLValue(agentID), SQLValue(action), SQLValue(limit)]
            ).map(entry(from:))
        }
    }
}

/// What `trail verify` found.
public struct TrailVerification: Sendable {
    public enum Problem: String, Sendable {
        case edited, missing, reordered, badCheckpoint = "bad_checkpoint", truncated, badHead = "bad_head"
    }

    public var entries: Int64
    public var checkpoints: Int
    /// Signed heads kept in the store whose root matched the entries.
    public var heads: Int = 0
    /// The Merkle root over every entry, recomputed from their contents.
    public var root: MerkleHash.Digest = MerkleHash.empty
    public var firstBadSeq: Int64?
    public var problem: Problem?
    public var detail: String?

    public var intact: Bool { problem == nil }
}

extension AuditTrail {
    /// Recomputes the chain from the first entry and checks every checkpoint's signature
    /// against the store's public key, then the Merkle tree: each stored leaf against its
    /// entry, each stored signed head against the root recomputed at its size. Names the first
    /// entry that was edited, removed or reordered. What it cannot see alone: entries cut from
    /// the end with their checkpoints and heads, or a rewrite re-signed with the key; a head
    /// kept outside the store catches those (`TrailConsistencyCheck`).
    public static func verify(database: Database, publicJWK: JSON) throws -> TrailVerification {
        var result = TrailVerification(entries: 0, checkpoints: 0)
        var prevHash = TrailEntry.genesis
        var expectedSeq: Int64 = 1
        var hashes: [Int64: String] = [:]
        var after: Int64 = 0
        var frontier = MerkleFrontier()
        let heads = try database.read { db in
            try db.query("SELECT tree_size, root_hash, timestamp, kid, signature FROM trail_heads ORDER BY tree_size").map {
                TrailHead(
                    treeSize: $0[0].int ?? 0, rootHash: MerkleHash.fromHex($0[1].string ?? "") ?? [], timestamp: $0[2].string ?? "",
                    keyID: $0[3].string ?? "", signature: $0[4].string ?? "")
            }
        }
        let headSizes = Set(heads.map(\.treeSize))
        var roots: [Int64: MerkleHash.Digest] = [:]
        var badLeaf: Int64?
        func fail(_ seq: Int64, _ problem: TrailVerification.Problem, _ detail: String) -> TrailVerification {
            result.firstBadSeq = seq
            result.problem = problem
            result.detail = detail
            return result
        }
        while true {
            let batch = try entries(in: database, after: after, limit: 5000)
            if batch.isEmpty { break }
            let storedLeaves = try database.read { db in
                Dictionary(
                    try db.query(
                        "SELECT node, hash FROM trail_nodes WHERE node BETWEEN ? AND ?",
                        [.integer(batch.first!.seq - 1), .integer(batch.last!.seq - 1)]
                    ).map { ($0[0].int ?? -1, $0[1].bytes ?? []) }, uniquingKeysWith: { a, _ in a })
            }
            for entry in batch {
                if entry.seq != expectedSeq {
                    return fail(expectedSeq, .missing, "entry \(expectedSeq) is missing (the next entry is \(entry.seq))")
                }
                // The link first: a row moved to another position still links to its old
                // neighbour, which names the move; a row whose link holds but whose content
                // does not match its hash was edited.
                if entry.prevHash != prevHash {
                    return fail(entry.seq, .reordered, "entry \(entry.seq) does not follow entry \(entry.seq - 1) in the chain")
                }
                let recomputed = entry.computedHash(prev: entry.prevHash)
                if recomputed != entry.hash {
                    return fail(entry.seq, .edited, "entry \(entry.seq)'s content does not match its hash")
                }
                prevHash = entry.hash
                hashes[entry.seq] = entry.hash
                let leaf = entry.leafHash
                frontier.append(leafHash: leaf)
                if badLeaf == nil, let stored = storedLeaves[entry.seq - 1], stored != leaf { badLeaf = entry.seq }
                if headSizes.contains(entry.seq) { roots[entry.seq] = frontier.root }
                expectedSeq += 1
                result.entries += 1
            }
            after = batch.last!.seq
        }
        let checkpoints = try database.read { db in
            try db.query("SELECT seq, hash, signature FROM trail_checkpoints ORDER BY seq")
        }
        for row in checkpoints {
            let seq = row[0].int ?? 0, hash = row[1].string ?? "", signature = row[2].string ?? ""
            guard let stored = hashes[seq] else {
                return fail(seq, .truncated, "checkpoint \(seq) names an entry that is no longer in the trail")
            }
            guard stored == hash else {
                return fail(seq, .edited, "entry \(seq)'s hash differs from its signed checkpoint")
            }
            guard StoreSigningKey.verify(signature: signature, payload: checkpointPayload(seq: seq, hash: hash), publicJWK: publicJWK)
            else {
                return fail(seq, .badCheckpoint, "checkpoint \(seq)'s signature does not verify with the store's key")
            }
            result.checkpoints += 1
        }
        result.root = frontier.root
        if let badLeaf {
            return fail(badLeaf, .edited, "entry \(badLeaf)'s content does not match its leaf in the Merkle tree")
        }
        for head in heads {
            guard let root = roots[head.treeSize] else {
                return fail(head.treeSize, .truncated, "signed head at size \(head.treeSize) covers entries no longer in the trail")
            }
            guard root == head.rootHash else {
                return fail(head.treeSize, .edited, "the entries up to \(head.treeSize) no longer hash to their signed head's root")
            }
            guard head.verifies(with: publicJWK) else {
                return fail(head.treeSize, .badHead, "signed head at size \(head.treeSize) does not verify with the store's key")
            }
            result.heads += 1
        }
        return result
    }
}
