import Crypto
import Foundation

/// The hashes of an RFC 6962 / RFC 9162 Merkle tree over SHA-256: a leaf is
/// `SHA-256(0x00 || data)`, an interior node `SHA-256(0x01 || left || right)`. The prefixes keep
/// a leaf from ever passing for a node (second-preimage resistance).
public enum MerkleHash {
    /// The 32 bytes of one hash.
    public typealias Digest = [UInt8]

    /// The hash of an empty tree: SHA-256 of nothing.
    public static let empty: Digest = Array(SHA256.hash(data: Data()))

    public static func leaf<D: DataProtocol>(_ data: D) -> Digest {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: data)
        return Array(hasher.finalize())
    }

    public static func node(_ left: Digest, _ right: Digest) -> Digest {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The largest power of two strictly smaller than `n` (n ≥ 2): where RFC 6962 splits a tree.
    public static func split(_ n: Int64) -> Int64 {
        precondition(n >= 2)
        var k: Int64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    public static func hex(_ digest: Digest) -> String { hexString(digest) }

    /// A digest from 64 hex digits, or nil.
    public static func fromHex(_ text: String) -> Digest? {
        guard text.utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
