/// Splits the arrays of a JSON document into their elements' bytes, one element at a time,
/// from a ``ByteSource``: a 1 GB `catalog.json` is never whole in memory, only the element
/// being read. Either the document is an array, or an object whose named members are arrays
/// (`"categories"` and `"products"` in any order; other members are skipped unread).
///
/// It tracks strings, escapes and nesting only, enough to find where each element ends; each
/// element is then parsed on its own (a broken element is that element's error, not the
/// feed's). A malformed document structure throws ``JSONStreamError`` with its byte offset.
public final class JSONArrayStream {
    /// One element of an array: which member it is in (nil for a top-level array), its place
    /// (from 1), the offset of its first byte, and its bytes or why they were not kept.
    public struct Element: Sendable {
        public var member: String?
        public var index: Int
        public var offset: Int64
        public var bytes: Result<[UInt8], JSONStreamError>
    }

    private enum State {
        case start, memberKey, inArray(String?), afterDocument, done
    }

    private var cursor: ByteCursor
    private let members: Set<String>?
    private let maxElementBytes: Int
    private var state = State.start
    private var index = 0
    private var found: Set<String> = []
    /// Nesting deeper than this is malformed for a feed (and keeps the bracket stack small).
    private static let maxDepth = 512

    /// The elements of the arrays under `members` of a top-level object.
    public init(source: ByteSource, members: [String], maxElementBytes: Int = 4 << 20) {
        cursor = ByteCursor(source: source)
        self.members = Set(members)
        self.maxElementBytes = maxElementBytes
    }

    /// The elements of a document that is an array.
    public init(topLevelArray source: ByteSource, maxElementBytes: Int = 4 << 20) {
        cursor = ByteCursor(source: source)
        members = nil
        self.maxElementBytes = maxElementBytes
    }

    public var bytesRead: Int64 { cursor.source.bytesRead }
    public var totalBytes: Int64? { cursor.source.totalBytes }

    /// The next element, or nil after the document's end.
    public func next() throws -> Element? {
        while true {
            switch state {
            case .done: return nil
            case .start:
                try cursor.skipByteOrderMark()
                try cursor.skipWhitespace()
                let opener: UInt8 = members == nil ? 0x5B : 0x7B
                try expect(opener, "the document to start with \(members == nil ? "[" : "{")")
                if members == nil {
                    index = 0
                    state = .inArray(nil)
                    if try closeArrayIfEmpty() { state = .afterDocument }
                } else {
                    try cursor.skipWhitespace()
                    if try cursor.peek() == 0x7D {
                        cursor.advance()
                        state = .afterDocument
                    } else {
                        state = .memberKey
                    }
                }
            case .memberKey:
                try cursor.skipWhitespace()
                let keyOffset = cursor.offset
                guard try cursor.peek() == 0x22 else { throw error(at: keyOffset, "expected a member name") }
                var key: [UInt8] = []
                try cursor.scanString(into: &key, limit: 4096)
                let name = String(decoding: key.dropFirst().dropLast(), as: UTF8.self)
                try cursor.skipWhitespace()
                try expect(0x3A, "':' after a member name")
                try cursor.skipWhitespace()
                if members?.contains(name) == true {
                    guard found.insert(name).inserted else { throw error(at: keyOffset, "member \"\(name)\" appears twice") }
                    guard try cursor.peek() == 0x5B else { throw error(at: cursor.offset, "member \"\(name)\" is not an array") }
                    cursor.advance()
                    index = 0
                    state = .inArray(name)
                    if try closeArrayIfEmpty() { try afterMember() }
                } else {
                    var discard: [UInt8]? = nil
                    _ = try scanValue(into: &discard)
                    try afterMember()
                }
            case .inArray(let member):
                try cursor.skipWhitespace()
                index += 1
                let offset = cursor.offset
                var kept: [UInt8]? = []
                let size = try scanValue(into: &kept)
                let bytes: Result<[UInt8], JSONStreamError> =
                    kept.map { .success($0) }
                    ?? .failure(error(at: offset, "element of \(size) bytes is larger than the limit of \(maxElementBytes)"))
                try cursor.skipWhitespace()
                switch try cursor.peek() {
                case 0x2C: cursor.advance()
                case 0x5D:
                    cursor.advance()
                    if member == nil { state = .afterDocument } else { try afterMember() }
                default: throw error(at: cursor.offset, "expected ',' or ']' after an array element")
                }
                return Element(member: member, index: index, offset: offset, bytes: bytes)
            case .afterDocument:
                try cursor.skipWhitespace()
                if try cursor.peekOrEnd() != nil { throw error(at: cursor.offset, "data after the end of the document") }
                if let members, let missing = members.subtracting(found).sorted().first {
                    throw error(at: cursor.offset, "no member \"\(missing)\" in the document")
                }
                state = .done
            }
        }
    }

    /// After a member's value: the next member, or the object's end.
    private func afterMember() throws {
        try cursor.skipWhitespace()
        switch try cursor.peek() {
        case 0x2C:
            cursor.advance()
            state = .memberKey
        case 0x7D:
            cursor.advance()
            state = .afterDocument
        default: throw error(at: cursor.offset, "expected ',' or '}' after a member")
        }
    }

    private func closeArrayIfEmpty() throws -> Bool {
        try cursor.skipWhitespace()
        guard try cursor.peek() == 0x5D else { return false }
        cursor.advance()
        return true
    }

    /// Reads one value, appending its bytes to `out` while it stays within the limit (then
    /// `out` becomes nil and the rest is only scanned). Returns the value's size.
    private func scanValue(into out: inout [UInt8]?) throws -> Int {
        let start = cursor.offset
        var stack: [UInt8] = []
        func keep(_ byte: UInt8) {
            guard out != nil else { return }
            if out!.count >= maxElementBytes { out = nil } else { out!.append(byte) }
        }
        repeat {
            let byte = try cursor.peek()
            switch byte {
            case 0x22:
                if out == nil {
                    var ignored: [UInt8]? = nil
                    try cursor.skipString(keeping: &ignored, limit: 0)
                } else {
                    try cursor.skipString(keeping: &out, limit: maxElementBytes)
                }
                continue
            case 0x5B, 0x7B:
                guard stack.count < Self.maxDepth else { throw error(at: cursor.offset, "nesting deeper than \(Self.maxDepth)") }
                stack.append(byte == 0x5B ? 0x5D : 0x7D)
            case 0x5D, 0x7D:
                guard stack.last == byte else { throw error(at: cursor.offset, "unexpected '\(Character(Unicode.Scalar(byte)))'") }
                stack.removeLast()
            case 0x2C, 0x3A:
                guard !stack.isEmpty else { throw error(at: cursor.offset, "expected a value") }
            case 0x20, 0x09, 0x0A, 0x0D:
                break
            default:
                // A literal or number: its bytes run to a delimiter; jansson judges them.
                guard byte >= 0x20 else { throw error(at: cursor.offset, "control byte 0x\(String(byte, radix: 16)) outside a string") }
                keep(byte)
                cursor.advance()
                while stack.isEmpty, let next = try cursor.peekOrEnd(), ![0x2C, 0x5D, 0x7D, 0x20, 0x09, 0x0A, 0x0D].contains(next) {
                    keep(next)
                    cursor.advance()
                }
                continue
            }
            keep(byte)
            cursor.advance()
        } while !stack.isEmpty
        return Int(cursor.offset - start)
    }

    private func expect(_ byte: UInt8, _ what: String) throws {
        guard try cursor.peekOrEnd() == byte else { throw error(at: cursor.offset, "expected \(what)") }
        cursor.advance()
    }

    private func error(at offset: Int64, _ message: String) -> JSONStreamError {
        JSONStreamError(offset: offset, message: message)
    }
}

/// Why a JSON document could not be split, and where (the byte offset from 0).
public struct JSONStreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int64
    public var message: String
    public var description: String { "\(message) at byte \(offset)" }
}

/// A byte at a time over a ``ByteSource``'s chunks, with the absolute offset.
struct ByteCursor {
    let source: ByteSource
    private var chunk: [UInt8] = []
    private var position = 0
    private var ended = false
    private(set) var offset: Int64 = 0

    init(source: ByteSource) { self.source = source }

    /// The current byte, or nil at the end of the input.
    mutating func peekOrEnd() throws -> UInt8? {
        while position >= chunk.count {
            guard !ended, let more = try source.nextChunk() else {
                ended = true
                return nil
            }
            chunk = more
            position = 0
        }
        return chunk[position]
    }

    /// The current byte; the end of the input here is malformed.
    mutating func peek() throws -> UInt8 {
        guard let byte = try peekOrEnd() else { throw JSONStreamError(offset: offset, message: "unexpected end of the document") }
        return byte
    }

    mutating func advance() {
        position += 1
        offset += 1
    }

    /// A UTF-8 byte order mark at the start, as some exporters write.
    mutating func skipByteOrderMark() throws {
        guard offset == 0, try peekOrEnd() == 0xEF, chunk.count >= position + 3, chunk[position + 1] == 0xBB, chunk[position + 2] == 0xBF else { return }
        for _ in 0..<3 { advance() }
    }

    mutating func skipWhitespace() throws {
        while let byte = try peekOrEnd(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { advance() }
    }

    /// A string from its opening quote to its closing one, quotes included.
    mutating func scanString(into out: inout [UInt8], limit: Int) throws {
        var kept: [UInt8]? = out
        try skipString(keeping: &kept, limit: limit)
        guard let kept else { throw JSONStreamError(offset: offset, message: "member name longer than \(limit) bytes") }
        out = kept
    }

    /// Passes a string (the cursor on its opening quote), appending it to `out` up to `limit`
    /// bytes in all; past that `out` becomes nil. Runs of plain bytes are taken a chunk at a
    /// time (strings are most of a catalog's bytes).
    mutating func skipString(keeping out: inout [UInt8]?, limit: Int) throws {
        let start = offset
        func keep(_ bytes: ArraySlice<UInt8>, _ out: inout [UInt8]?) {
            guard out != nil else { return }
            if out!.count + bytes.count > limit { out = nil } else { out!.append(contentsOf: bytes) }
        }
        var escaped = false
        var first = true
        while true {
            guard try peekOrEnd() != nil else { throw JSONStreamError(offset: start, message: "unterminated string") }
            if !first && !escaped {
                // Up to the next quote or backslash in this chunk, in one piece.
                var end = position
                while end < chunk.count, chunk[end] != 0x22, chunk[end] != 0x5C { end += 1 }
                if end > position {
                    keep(chunk[position..<end], &out)
                    offset += Int64(end - position)
                    position = end
                    continue
                }
            }
            let byte = chunk[position]
            keep(chunk[position..<position + 1], &out)
            advance()
            if first {
                first = false
            } else if escaped {
                escaped = false
            } else if byte == 0x22 {
                return
            } else {
                escaped = true
            }
        }
    }
}
