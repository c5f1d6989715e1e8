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

/// Gives a cacheable GET answer an entity tag computed from its bytes, and turns it into a
/// 304 when the client already has those bytes.
public func withEntityTag(_ request: Request, _ response: Response) -> Response {
    guard request.method == "GET" || request.method == "HEAD", response.status == 200, response.headers["ETag"] == nil,
        response.headers["Cache-Control"]?.contains("public") == true, case .bytes(let bytes) = response.body
    else { return response }
    var response = response
    let etag = "\"" + String(fnv1a(bytes), radix: 16) + "\""
    response.headers.add("ETag", etag)
    if ifNoneMatchMatches(request.headers["If-None-Match"], etag: etag) {
        response.headers.remove("Content-Type")
        return Response(status: 304, headers: response.headers)
    }
    return response
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
