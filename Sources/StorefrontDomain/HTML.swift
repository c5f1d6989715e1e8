/// Escapes text for HTML element content and attribute values.
public func htmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

/// JSON made safe inside `<script type="application/ld+json">`: no `</script>` can end it early.
public func scriptSafeJSON(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
        .replacingOccurrences(of: "</", with: "<\\/")
        .replacingOccurrences(of: "<!--", with: "<\\!--")
}

/// The shared page frame for the few HTML pages the gateway serves.
public func htmlPage(title: String, description: String, head: String = "", body: String, storeLinks: Bool = true) -> String {
    let alternates = storeLinks
        ? "<link rel=\"alternate\" type=\"application/json\" href=\"/agents\">\n<link rel=\"alternate\" type=\"text/markdown\" href=\"/llms.txt\">"
        : ""
    return """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(htmlEscape(title))</title>
    <meta name="description" content="\(htmlEscape(description))">
    <meta property="og:title" content="\(htmlEscape(title))">
    <meta property="og:description" content="\(htmlEscape(description))">
    \(alternates)
    <style>
    body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2b22}
    h1,h2{line-height:1.2} code{background:#eef3ef;padding:0 .25em;border-radius:3px}
    table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #dde5df}
    .price{font-size:1.5rem;font-weight:600} .muted{color:#5b6b61}
    </style>
    \(head)
    </head>
    <body>
    \(body)
    </body>
    </html>
    """
}
