import Foundation

/// Where a page of search results starts: the relevance tier (0: every word in the name; 1: in
/// the category; 2: in the tags or brand; 3: anywhere; 4–7 the same with words prefix-matched,
/// when nothing matched them as written) and the catalog position after which that tier continues. Pages are keyset pages: a product added or removed meanwhile shifts nothing.
public struct CatalogPosition: Sendable, Hashable {
    public var tier: Int
    public var position: Int64

    public init(tier: Int, position: Int64) {
        self.tier = tier
        self.position = position
    }
}

/// An opaque page cursor: the position and the query's fingerprint, base64url-encoded.
public enum CatalogCursor {
    public static func encode(_ at: CatalogPosition, fingerprint: String) -> String {
        Base64URL.encode(Data("v2:\(at.tier):\(at.position):\(fingerprint)".utf8))
    }

    public static func decode(_ cursor: String, fingerprint: String) -> CatalogPosition? {
        guard cursor.count <= 128, let data = Base64URL.decode(cursor) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 4, parts[0] == "v2", let tier = Int(parts[1]), (0..<2 * CatalogQuery.tiers).contains(tier),
            let position = Int64(parts[2]), position >= -1, parts[3] == fingerprint
        else { return nil }
        return CatalogPosition(tier: tier, position: position)
    }
}
