import Foundation

/// RFC 3339 timestamps in UTC and hex digests, written by hand: Foundation's formatters cost
/// tens of microseconds each, and money-moving requests write several.
public enum Timestamp {
    /// `2026-11-22T01:02:03Z`, or with milliseconds `2026-11-22T01:02:03.456Z`.
    public static func iso8601(_ date: Date, milliseconds: Bool = false) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(floor(interval))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
        text += "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
        if milliseconds {
            text += "." + pad(min(999, Int((interval - floor(interval)) * 1000)), 3)
        }
        return text + "Z"
    }

    public static func iso8601(seconds: Int64) -> String { iso8601(Date(timeIntervalSince1970: TimeInterval(seconds))) }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Lowercase hex of bytes.
public func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    var out: [UInt8] = []
    for byte in bytes {
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Unix seconds now.
public func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }

/// Times on the wire are ISO 8601; in the store they are Unix seconds.
public func isoTime(_ seconds: Int64) -> String {
    Timestamp.iso8601(seconds: seconds)
}
