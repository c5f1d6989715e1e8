/// The right edge of a Merkle tree: the roots of its perfect subtrees, largest first (one per
/// set bit of the size). Appending a leaf merges equal-sized subtrees, O(log n); the root of the
/// whole tree folds them from the right, as RFC 6962's MTH does.
public struct MerkleFrontier: Sendable, Equatable {
    /// (level, hash): a subtree of 2^level leaves.
    public private(set) var subtrees: [(level: Int, hash: MerkleHash.Digest)] = []
    public private(set) var size: Int64 = 0

    public init() {}

    /// Adds a leaf's hash (already `MerkleHash.leaf`). Returns the perfect subtrees it completed,
    /// the leaf's own first: (level, index at that level, hash).
    @discardableResult
    public mutating func append(leafHash: MerkleHash.Digest) -> [(level: Int, index: Int64, hash: MerkleHash.Digest)] {
        var completed: [(level: Int, index: Int64, hash: MerkleHash.Digest)] = [(0, size, leafHash)]
        var hash = leafHash
        var level = 0
        var index = size
        while let last = subtrees.last, last.level == level {
            subtrees.removeLast()
            hash = MerkleHash.node(last.hash, hash)
            level += 1
            index >>= 1
            completed.append((level, index, hash))
        }
        subtrees.append((level, hash))
        size += 1
        return completed
    }

    /// MTH of every leaf so far (the hash of an empty tree when there is none).
    public var root: MerkleHash.Digest {
        guard var hash = subtrees.last?.hash else { return MerkleHash.empty }
        for subtree in subtrees.dropLast().reversed() { hash = MerkleHash.node(subtree.hash, hash) }
        return hash
    }

    public static func == (a: MerkleFrontier, b: MerkleFrontier) -> Bool {
        a.size == b.size && a.subtrees.map(\.hash) == b.subtrees.map(\.hash)
    }
}
