import Foundation
import JSON
import Store
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// The Merkle math against RFC 6962's test vectors (the eight leaves used by Certificate
/// Transparency's reference implementations), and the proofs against RFC 9162's verifiers.
@Suite("The trail's Merkle tree")
struct MerkleTreeTests {
    static let leaves: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .map { hex in stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! } }
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    /// A tree in memory: the frontier's completed nodes, looked up as the store does.
    struct MemoryTree {
        var frontier = MerkleFrontier()
        var nodes: [String: MerkleHash.Digest] = [:]
        var roots: [MerkleHash.Digest] = []

        init(_ data: [[UInt8]]) {
            for item in data {
                for (level, index, hash) in frontier.append(leafHash: MerkleHash.leaf(item)) { nodes["\(level)/\(index)"] = hash }
                roots.append(frontier.root)
            }
        }

        var proofs: MerkleProofs {
            let nodes = self.nodes
            return MerkleProofs { level, index in nodes["\(level)/\(index)"]! }
        }
    }

    static func hex(_ digests: [MerkleHash.Digest]) -> [String] { digests.map(MerkleHash.hex) }

    @Test("roots of 0 to 8 leaves match RFC 6962's vectors, from the frontier and from stored nodes")
    func roots() throws {
        #expect(MerkleHash.hex(MerkleFrontier().root) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let tree = MemoryTree(Self.leaves)
        #expect(tree.roots.map(MerkleHash.hex) == Self.roots)
        for size in 1...8 { #expect(MerkleHash.hex(try tree.proofs.root(size: Int64(size))) == Self.roots[size - 1]) }
    }

    @Test("inclusion proofs match the reference vectors")
    func inclusionVectors() throws {
        let proofs = MemoryTree(Self.leaves).proofs
        #expect(Self.hex(try proofs.inclusion(index: 0, size: 8)) == [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ])
        #expect(Self.hex(try proofs.inclusion(index: 5, size: 8)) == [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        #expect(try proofs.inclusion(index: 0, size: 1).isEmpty)
    }

    @Test("consistency proofs match the reference vectors")
    func consistencyVectors() throws {
        let proofs = MemoryTree(Self.leaves).proofs
        #expect(try proofs.consistency(first: 1, second: 1).isEmpty)
        #expect(Self.hex(try proofs.consistency(first: 1, second: 8)) == [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ])
        #expect(Self.hex(try proofs.consistency(first: 6, second: 8)) == [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        #expect(Self.hex(try proofs.consistency(first: 2, second: 5)) == [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ])
    }

    @Test("every inclusion and consistency proof of trees up to 33 leaves verifies, and fails when anything changes")
    func allProofsVerify() throws {
        let data = (0..<33).map { Array("leaf \($0)".utf8) }
        let tree = MemoryTree(data)
        let proofs = tree.proofs
        let wrong = MerkleHash.leaf(Array("not a leaf".utf8))
        for n in 1...33 {
            let root = tree.roots[n - 1]
            for m in 0..<n {
                let leaf = MerkleHash.leaf(data[m])
                let path = try proofs.inclusion(index: Int64(m), size: Int64(n))
                #expect(MerkleVerification.inclusion(leafHash: leaf, index: Int64(m), size: Int64(n), proof: path, root: root))
                #expect(!MerkleVerification.inclusion(leafHash: wrong, index: Int64(m), size: Int64(n), proof: path, root: root))
                if n > 1 {
                    #expect(!MerkleVerification.inclusion(
                        leafHash: leaf, index: Int64((m + 1) % n), size: Int64(n), proof: path, root: root) || data[m] == data[(m + 1) % n])
                }
            }
            for m in 1...n {
                let proof = try proofs.consistency(first: Int64(m), second: Int64(n))
                #expect(MerkleVerification.consistency(
                    first: Int64(m), second: Int64(n), firstRoot: tree.roots[m - 1], secondRoot: root, proof: proof))
                if m < n {
                    #expect(!MerkleVerification.consistency(
                        first: Int64(m), second: Int64(n), firstRoot: wrong, secondRoot: root, proof: proof))
                    #expect(!MerkleVerification.consistency(
                        first: Int64(m), second: Int64(n), firstRoot: tree.roots[m - 1], secondRoot: wrong, proof: proof))
                }
            }
        }
    }

    @Test("the stored tree follows every append, and a rebuild from the entries gives the same nodes")
    func storedTree() throws {
        let database = try Fixtures.temporaryStore()
        defer { database.close() }
        let trail = AuditTrail(signingKey: .generate(), checkpointEvery: 7)
        var frontier = MerkleFrontier()
        for i in 0..<45 {
            let entry = try database.write { db in
                try trail.append(TrailEntry(action: "test.\(i)", target: "t\(i)", outcome: "ok", amount: Int64(i)), in: db)
            }
            frontier.append(leafHash: entry.leafHash)
            let stored = try database.read { db in try TrailTree.proofs(in: db).root(size: Int64(i + 1)) }
            #expect(stored == frontier.root)
        }
        let before = try database.read { try $0.query("SELECT node, hash FROM trail_nodes ORDER BY node").map { [$0[0], $0[1]] } }
        try database.write { db in try TrailTree.rebuild(in: db) }
        let after = try database.read { try $0.query("SELECT node, hash FROM trail_nodes ORDER BY node").map { [$0[0], $0[1]] } }
        #expect(before == after)
        let heads = try database.read { try $0.query("SELECT tree_size FROM trail_heads ORDER BY tree_size").map { $0[0].int ?? 0 } }
        #expect(heads == [7, 14, 21, 28, 35, 42])
        let result = try AuditTrail.verify(database: database, publicJWK: trail.signingKey.publicJWK)
        #expect(result.intact && result.heads == 6 && result.root == frontier.root)
    }
}
