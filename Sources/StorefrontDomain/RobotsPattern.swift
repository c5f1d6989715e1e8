/// A robots.txt path pattern (RFC 9309 §2.2.2–2.2.3): matches a path from its start; `*` is any
/// run of characters, a final `$` anchors the end. Matched in O(pattern × path) steps, so a
/// hostile robots.txt full of `*`s cannot make a reader spin.
public enum RobotsPattern {
    public static func matches(_ pattern: String, _ path: String) -> Bool {
        var p = Array(pattern.utf8)
        let anchored = p.last == UInt8(ascii: "$")
        if anchored { p.removeLast() }
        let s = Array(path.utf8)
        // reach[j]: the pattern's first i bytes can match the path's first j bytes.
        var reach = [Bool](repeating: false, count: s.count + 1)
        reach[0] = true
        for byte in p {
            var next = [Bool](repeating: false, count: s.count + 1)
            if byte == UInt8(ascii: "*") {
                var any = false
                for j in 0...s.count {
                    any = any || reach[j]
                    next[j] = any
                }
            } else {
                for j in 0..<s.count where reach[j] && s[j] == byte { next[j + 1] = true }
            }
            reach = next
            if !reach.contains(true) { return false }
        }
        return anchored ? reach[s.count] : reach.contains(true)
    }
}
