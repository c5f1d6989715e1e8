import Foundation

/// Merchant Center's XML product data: RSS 2.0 `<item>`s (or Atom `<entry>`s) whose children
/// are the attributes, in the `g:` namespace (`http://base.google.com/ns/1.0`) or RSS's own
/// (`<title>`, `<link>`, `<description>`). Read by a small streaming scanner, not an XML
/// parser: one item at a time is kept (up to the row limit), with CDATA, comments, entities
/// and character references understood; DTDs and other namespaces are not.
public final class MerchantCenterXMLImporter: FeedImporter {
    private var cursor: ByteCursor
    private var assembler: MerchantCenterAssembler
    private let checks = FeedChecks()
    private let maxItemBytes: Int
    private var pending: [FeedItem] = []
    private var finished = false
    private var row = 0

    public init(source: ByteSource, options: FeedOptions = FeedOptions()) {
        cursor = ByteCursor(source: source)
        assembler = MerchantCenterAssembler(checks: checks, options: options)
        maxItemBytes = options.maxRowBytes
    }

    public var categories: [FeedCategory] { checks.categories }
    public var bytesRead: Int64 { cursor.source.bytesRead }
    public var totalBytes: Int64? { cursor.source.totalBytes }

    public func next() -> FeedItem? {
        while pending.isEmpty && !finished { pending = readItem() }
        return pending.isEmpty ? nil : pending.removeFirst()
    }

    private func readItem() -> [FeedItem] {
        do {
            guard let (bytes, size) = try nextItem() else {
                finished = true
                return assembler.flush()
            }
            row += 1
            guard let bytes else {
                return [.rejected(FeedRejection(row: row, id: nil, field: "row", reason: "item of \(size) bytes, more than the limit of \(maxItemBytes)"))]
            }
            return assembler.add(try Self.attributes(of: bytes), number: row)
        } catch let error as FieldError {
            return [.rejected(FeedRejection(row: row, id: nil, field: error.field, reason: error.reason))]
        } catch {
            finished = true
            return assembler.flush() + [.rejected(FeedRejection(row: row + 1, id: nil, field: "feed", reason: "\(error)"))]
        }
    }

    /// The content of the next `<item>` (nil bytes when it is larger than the limit, with its
    /// size), or nil at the end of the document.
    private func nextItem() throws -> ([UInt8]?, Int)? {
        // Outside items: find the next start tag named item or entry.
        while let byte = try cursor.peekOrEnd() {
            cursor.advance()
            guard byte == 0x3C else { continue }
            let start = cursor.offset - 1
            if try skipMarkup() { continue }
            var name: [UInt8] = []
            while let b = try cursor.peekOrEnd(), b != 0x3E, b != 0x20, b != 0x09, b != 0x0A, b != 0x0D, b != 0x2F, name.count < 64 {
                name.append(b)
                cursor.advance()
            }
            guard name == Array("item".utf8) || name == Array("entry".utf8) else { continue }
            try skipPast(">", from: start, what: "<item> tag")
            return try itemContent(closing: Array("</".utf8) + name, start: start)
        }
        return nil
    }

    /// After a `<`: passes a comment, CDATA section, declaration or processing instruction
    /// and says so; otherwise leaves the cursor on the tag name.
    private func skipMarkup() throws -> Bool {
        let start = cursor.offset - 1
        switch try cursor.peekOrEnd() {
        case 0x21:  // <!-- -->, <![CDATA[ ]]>, <!DOCTYPE >
            cursor.advance()
            if try cursor.peekOrEnd() == 0x2D { try skipPast("-->", from: start, what: "comment") }
            else if try cursor.peekOrEnd() == 0x5B { try skipPast("]]>", from: start, what: "CDATA section") }
            else { try skipPast(">", from: start, what: "declaration") }
            return true
        case 0x3F:
            try skipPast("?>", from: start, what: "processing instruction")
            return true
        default: return false
        }
    }

    private func skipPast(_ end: String, from start: Int64, what: String) throws {
        let pattern = Array(end.utf8)
        var tail: [UInt8] = []
        while !tail.elementsEqual(pattern) {
            guard let b = try cursor.peekOrEnd() else { throw JSONStreamError(offset: start, message: "unterminated \(what)") }
            cursor.advance()
            tail.append(b)
            if tail.count > pattern.count { tail.removeFirst() }
        }
    }

    /// An item's bytes up to its closing tag, CDATA and comments included (a `</item>` inside
    /// them does not end it).
    private func itemContent(closing: [UInt8], start: Int64) throws -> ([UInt8]?, Int) {
        var kept: [UInt8]? = []
        var size = 0
        func keep(_ b: UInt8) {
            size += 1
            guard kept != nil else { return }
            if kept!.count >= maxItemBytes { kept = nil } else { kept!.append(b) }
        }
        let cdata = Array("<![CDATA[".utf8), comment = Array("<!--".utf8)
        var tail: [UInt8] = []  // the last bytes, to recognise the markers
        var inside: [UInt8]? = nil  // the end marker of the CDATA or comment the cursor is in
        while true {
            guard let b = try cursor.peekOrEnd() else { throw JSONStreamError(offset: start, message: "unterminated <\(String(decoding: closing.dropFirst(2), as: UTF8.self))>") }
            cursor.advance()
            keep(b)
            tail.append(b)
            if tail.count > 9 { tail.removeFirst() }
            if let end = inside {
                if tail.count >= end.count && tail.suffix(end.count).elementsEqual(end) { inside = nil; tail = [] }
            } else if tail.suffix(cdata.count).elementsEqual(cdata) {
                inside = Array("]]>".utf8)
                tail = []
            } else if tail.suffix(comment.count).elementsEqual(comment) {
                inside = Array("-->".utf8)
                tail = []
            } else if tail.count >= closing.count && tail.suffix(closing.count).elementsEqual(closing) {
                // The closing tag's name must end here: `</item>`, `</item >`, not `</items>`.
                guard let next = try cursor.peekOrEnd(), next == 0x3E || next == 0x20 || next == 0x0A || next == 0x09 || next == 0x0D else { continue }
                try skipPast(">", from: start, what: "closing tag")
                if kept != nil { kept!.removeLast(Swift.min(closing.count, kept!.count)) }
                return (kept, size)
            }
        }
    }

    /// An item's children as attribute name → text ("g:price" → "price"); a repeated one
    /// (`g:additional_image_link`) joined with commas; a child with children of its own
    /// (`g:shipping`) skipped.
    static func attributes(of bytes: [UInt8]) throws(FieldError) -> [String: String] {
        var fields: [String: String] = [:]
        var stack: [(name: String, text: String, hasChildren: Bool)] = []
        var i = 0
        let n = bytes.count
        func starts(_ s: String, at j: Int) -> Bool {
            let u = Array(s.utf8)
            return j + u.count <= n && bytes[j..<j + u.count].elementsEqual(u)
        }
        func find(_ s: String, from j: Int) throws(FieldError) -> Int {
            var k = j
            while k < n {
                if starts(s, at: k) { return k }
                k += 1
            }
            throw FieldError("row", "malformed XML: no \(s) after byte \(j) of the item")
        }
        while i < n {
            if bytes[i] != 0x3C {
                var j = i
                while j < n && bytes[j] != 0x3C { j += 1 }
                if !stack.isEmpty { stack[stack.count - 1].text += decodeEntities(String(decoding: bytes[i..<j], as: UTF8.self)) }
                i = j
            } else if starts("<![CDATA[", at: i) {
                let end = try find("]]>", from: i + 9)
                if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: bytes[(i + 9)..<end], as: UTF8.self) }
                i = end + 3
            } else if starts("<!--", at: i) {
                i = try find("-->", from: i + 4) + 3
            } else if starts("<?", at: i) {
                i = try find("?>", from: i + 2) + 2
            } else if starts("</", at: i) {
                let end = try find(">", from: i)
                let name = String(decoding: bytes[(i + 2)..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let open = stack.popLast(), open.name == name else { throw FieldError("row", "malformed XML: unexpected </\(name.prefix(40))>") }
                if stack.isEmpty && !open.hasChildren {
                    let key = merchantCenterName(open.name)
                    let value = open.text.trimmingCharacters(in: .whitespacesAndNewlines)
                    if let existing = fields[key], !existing.isEmpty { fields[key] = existing + "," + value } else { fields[key] = value }
                }
                i = end + 1
            } else {
                // A start tag; attributes are read past, honouring quotes (a '>' may be in one).
                var j = i + 1, quote: UInt8? = nil
                while j < n && (quote != nil || bytes[j] != 0x3E) {
                    if let q = quote { if bytes[j] == q { quote = nil } } else if bytes[j] == 0x22 || bytes[j] == 0x27 { quote = bytes[j] }
                    j += 1
                }
                guard j < n else { throw FieldError("row", "malformed XML: unterminated tag") }
                let selfClosing = bytes[j - 1] == 0x2F
                let tag = bytes[(i + 1)..<(selfClosing ? j - 1 : j)]
                let name = String(decoding: tag.prefix(while: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }), as: UTF8.self)
                if !stack.isEmpty { stack[stack.count - 1].hasChildren = true }
                if !selfClosing {
                    guard stack.count < 32 else { throw FieldError("row", "malformed XML: nesting too deep") }
                    stack.append((name, "", false))
                }
                i = j + 1
            }
        }
        guard stack.isEmpty else { throw FieldError("row", "malformed XML: <\(stack.last!.name.prefix(40))> is not closed") }
        return fields
    }
}
