import Foundation
import HTTPServer
import JSON
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// The trail's public face, for agents and auditors who hold the store to its history: the
/// signed head (`/.well-known/trail-head`), inclusion proofs for an entry (a receipt's) and
/// consistency proofs between two sizes. Proofs carry hashes only, never entry contents.
extension Gateway {
    func addTrailRoutes(to router: inout Router) {
        router.get("/.well-known/trail-head") { [unowned self] _ in trailResult { try currentHead().json } }
        router.get("/trail/proof/inclusion") { [unowned self] request in trailResult { try inclusionProof(request) } }
        router.get("/trail/proof/consistency") { [unowned self] request in trailResult { try consistencyProof(request) } }
    }

    func trailResult(_ work: () throws -> JSON) -> Response {
        do {
            return jsonResponse(try work())
        } catch let error as ActionError {
            return error.restResponse
        } catch {
            return Response.error(status: 503, type: "service_unavailable", code: "store_unavailable", message: "\(error)")
        }
    }

    /// A head over the whole trail, signed once per size.
    func currentHead() throws -> TrailHead {
        try database.reading { db in
            let size = try TrailTree.size(in: db)
            if let cached = trailHeads.head, cached.treeSize == size { return cached }
            let head = try trail.signHead(in: db)
            trailHeads.head = head
            return head
        }
    }

    static func sizeParameter(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = request.query(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw ActionError.invalid("invalid_parameter", "\(name) must be a non-negative integer.", param: name)
        }
        return value
    }

    /// `?seq=S` (the trail's 1-based numbering) or `?index=I` (the leaf, 0-based), and
    /// optionally `&tree_size=N` (default: the current size, with its signed head).
    func inclusionProof(_ request: Request) throws -> JSON {
        let seq = try Self.sizeParameter(request, "seq"), index = try Self.sizeParameter(request, "index")
        guard (seq == nil) != (index == nil) else {
            throw ActionError.invalid("invalid_parameter", "Give seq (1-based) or index (0-based leaf index), one of them.", param: "seq")
        }
        let leaf = index ?? (seq! - 1)
        let requestedSize = try Self.sizeParameter(request, "tree_size")
        let head = requestedSize == nil ? try currentHead() : nil
        return try database.reading { db in
            let current = try TrailTree.size(in: db)
            let size = requestedSize ?? head!.treeSize
            guard size <= current else {
                throw ActionError.invalid("invalid_parameter", "tree_size \(size) is beyond the trail's \(current) entries.", param: "tree_size")
            }
            guard leaf >= 0, leaf < size else {
                throw ActionError.invalid(
                    "invalid_parameter", "The tree of \(size) entries has leaves 0 to \(size - 1) (seq 1 to \(size)).",
                    param: index == nil ? "seq" : "index")
            }
            let proofs = TrailTree.proofs(in: db)
            var result: [String: JSON] = [
                "seq": .int(leaf + 1), "leaf_index": .int(leaf), "tree_size": .int(size),
                "leaf_hash": .string(MerkleHash.hex(try proofs.hash(leaf, leaf + 1))),
                "root_hash": .string(MerkleHash.hex(try proofs.root(size: size))),
                "audit_path": .array(try proofs.inclusion(index: leaf, size: size).map { .string(MerkleHash.hex($0)) }),
            ]
            if let head { result["trail_head"] = head.json }
            return .object(result)
        }
    }

    /// `?first=M&second=N` (second defaults to the current size, with its signed head).
    func consistencyProof(_ request: Request) throws -> JSON {
        guard let first = try Self.sizeParameter(request, "first"), first >= 1 else {
            throw ActionError.invalid("invalid_parameter", "first (a tree size of at least 1) is required.", param: "first")
        }
        let requested = try Self.sizeParameter(request, "second")
        let head = requested == nil ? try currentHead() : nil
        return try database.reading { db in
            let current = try TrailTree.size(in: db)
            let second = requested ?? head!.treeSize
            guard second <= current else {
                throw ActionError.invalid("invalid_parameter", "second \(second) is beyond the trail's \(current) entries.", param: "second")
            }
            guard first <= second else {
                throw ActionError.invalid("invalid_parameter", "first must not exceed second (\(second)).", param: "first")
            }
            let proofs = TrailTree.proofs(in: db)
            var result: [String: JSON] = [
                "first": .int(first), "second": .int(second),
                "first_root_hash": .string(MerkleHash.hex(try proofs.root(size: first))),
                "second_root_hash": .string(MerkleHash.hex(try proofs.root(size: second))),
                "consistency_proof": .array(try proofs.consistency(first: first, second: second).map { .string(MerkleHash.hex($0)) }),
            ]
            if let head { result["trail_head"] = head.json }
            return .object(result)
        }
    }
}

/// The last head signed for the public route; heads are signed again only when the trail grew.
final class TrailHeadCache: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: TrailHead?

    var head: TrailHead? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
