/// Conditional requests (RFC 9110 §13): does `If-None-Match` name the current entity tag?
public func ifNoneMatchMatches(_ header: String?, etag: String) -> Bool {
    guard let header else { return false }
    let strip = { (tag: Substring) -> Substring in
        let t = tag.trimmingPrefix(while: { $0 == " " })
        return t.hasPrefix("W/") ? t.dropFirst(2) : t
    }
    let current = strip(Substring(etag))
    for candidate in header.split(separator: ",") {
        let tag = strip(candidate).trimmingSuffix(while: { $0 == " " })
        if tag == "*" || tag == current { return true }
    }
    return false
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var s = self
        while let c = s.first, predicate(c) { s = s.dropFirst() }
        return s
    }

    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var s = self
        while let c = s.last, predicate(c) { s = s.dropLast() }
        return s
    }
}
