import Foundation

/// Where a page of search results starts. A word search ranks matches a window at a time: the
/// next `window` matches in catalog position after `position`, ordered by relevance; `skip` is how
/// many of that window's ranked matches earlier pages showed, and `prefix` whether the words are
/// prefix-matched (when nothing matched them as written). A filter-only listing is in catalog
/// position: `position` is the last one shown. Pages are keyset pages: a product added or removed
/// meanwhile moves nothing already passed.
public struct CatalogPosition: Sendable, Hashable {
    public var position: Int64
    public var skip: Int
    public var prefix: Bool

    public init(position: Int64, skip: Int = 0, prefix: Bool = false) {
        self.position = position
        self.skip = skip
        self.prefix = prefix
    }
}

/// An opaque page cursor: the position and the query's fingerprint, base64url-encoded.
public enum CatalogCursor {
    public static func encode(_ at: CatalogPosition, fingerprint: String) -> String {
        Base64URL.encode(Data("v3:\(at.position):\(at.skip):\(at.prefix ? 1 : 0):\(fingerprint)".utf8))
    }

    public static func decode(_ cursor: String, fingerprint: String) -> CatalogPosition? {
        guard cursor.count <= 128, let data = Base64URL.decode(cursor) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 5, parts[0] == "v3", let position = Int64(parts[1]), position >= -1,
            let skip = Int(parts[2]), (0...CatalogQuery.window).contains(skip), parts[3] == "0" || parts[3] == "1",
            parts[4] == fingerprint
        else { return nil }
        return CatalogPosition(position: position, skip: skip, prefix: parts[3] == "1")
    }
}
