import Foundation

/// An opaque page cursor: the offset and the query's fingerprint, base64url-encoded.
public enum CatalogCursor {
    public static func encode(offset: Int, fingerprint: String) -> String {
        Base64URL.encode(Data("v1:\(offset):\(fingerprint)".utf8))
    }

    public static func decode(_ cursor: String, fingerprint: String) -> Int? {
        guard cursor.count <= 128, let data = Base64URL.decode(cursor) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 3, parts[0] == "v1", let offset = Int(parts[1]), offset >= 0, offset < 1_000_000,
            parts[2] == fingerprint
        else { return nil }
        return offset
    }
}
