/// RFC 6962 §2.1 proofs over a tree whose perfect subtrees can be looked up: `node(level, index)`
/// is the hash of leaves `[index << level, (index + 1) << level)`. Any range the proofs need is
/// built from O(log n) of them, so a proof costs O(log² n) lookups and no rehashing of leaves.
public struct MerkleProofs {
    public typealias Lookup = (_ level: Int, _ index: Int64) throws -> MerkleHash.Digest

    public let node: Lookup

    public init(node: @escaping Lookup) {
        self.node = node
    }

    /// MTH of leaves `[start, end)`, start < end.
    public func hash(_ start: Int64, _ end: Int64) throws -> MerkleHash.Digest {
        let n = end - start
        if n & (n - 1) == 0, start % n == 0 {
            return try node(n.trailingZeroBitCount, start / n)
        }
        let k = MerkleHash.split(n)
        return MerkleHash.node(try hash(start, start + k), try hash(start + k, end))
    }

    /// The root of the first `size` leaves.
    public func root(size: Int64) throws -> MerkleHash.Digest {
        size == 0 ? MerkleHash.empty : try hash(0, size)
    }

    /// PATH(m, D[0:size]): the audit path of leaf `index` (0-based), leaf side first.
    public func inclusion(index: Int64, size: Int64) throws -> [MerkleHash.Digest] {
        precondition(index >= 0 && index < size)
        return try path(index, 0, size)
    }

    private func path(_ m: Int64, _ start: Int64, _ end: Int64) throws -> [MerkleHash.Digest] {
        let n = end - start
        if n == 1 { return [] }
        let k = MerkleHash.split(n)
        if m < k { return try path(m, start, start + k) + [hash(start + k, end)] }
        return try path(m - k, start + k, end) + [hash(start, start + k)]
    }

    /// PROOF(first, D[0:second]): shows the tree of `first` leaves is a prefix of the tree of
    /// `second` leaves (0 < first ≤ second).
    public func consistency(first: Int64, second: Int64) throws -> [MerkleHash.Digest] {
        precondition(first > 0 && first <= second)
        return try subproof(first, 0, second, true)
    }

    private func subproof(_ m: Int64, _ start: Int64, _ end: Int64, _ complete: Bool) throws -> [MerkleHash.Digest] {
        let n = end - start
        if m == n { return complete ? [] : [try hash(start, end)] }
        let k = MerkleHash.split(n)
        if m <= k { return try subproof(m, start, start + k, complete) + [hash(start + k, end)] }
        return try subproof(m - k, start + k, end, false) + [hash(start, start + k)]
    }
}
