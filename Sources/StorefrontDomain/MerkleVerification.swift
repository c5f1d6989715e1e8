/// RFC 9162 §2.1.3.2 and §2.1.4.2: checking an inclusion or a consistency proof against tree
/// roots, written from the RFC's steps (the same algorithms an agent runs on its side).
public enum MerkleVerification {
    /// Whether `proof` shows the leaf hash at `index` (0-based) is in the tree of `size` with `root`.
    public static func inclusion(
        leafHash: MerkleHash.Digest, index: Int64, size: Int64, proof: [MerkleHash.Digest], root: MerkleHash.Digest
    ) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows the tree of `first` leaves (root `firstRoot`) is a prefix of the
    /// tree of `second` leaves (root `secondRoot`).
    public static func consistency(
        first: Int64, second: Int64, firstRoot: MerkleHash.Digest, secondRoot: MerkleHash.Digest, proof: [MerkleHash.Digest]
    ) -> Bool {
        guard first > 0, first <= second else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        var path = proof
        // Step 2: a first tree that is a perfect subtree is its own first node.
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        guard !path.isEmpty else { return false }
        var fn = first - 1, sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }
}
