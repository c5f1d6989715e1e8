import Foundation

/// Where a feed's bytes come from, a chunk at a time (64 KiB from a file), so a feed of any
/// size is read in constant memory. Counts what it has handed out, for progress.
public final class ByteSource {
    public static let chunkSize = 64 << 10

    private let pull: () throws -> [UInt8]?
    public private(set) var bytesRead: Int64 = 0
    /// The input's size when known (a regular file, an array).
    public let totalBytes: Int64?

    /// Chunks from a closure that returns nil at the end.
    public init(totalBytes: Int64? = nil, pull: @escaping () throws -> [UInt8]?) {
        self.totalBytes = totalBytes
        self.pull = pull
    }

    /// Bytes already in memory, handed out in chunks like a file's.
    public convenience init(bytes: [UInt8], chunkSize: Int = ByteSource.chunkSize) {
        var offset = 0
        self.init(totalBytes: Int64(bytes.count)) {
            guard offset < bytes.count else { return nil }
            let end = min(offset + chunkSize, bytes.count)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
    }

    public convenience init(string: String) { self.init(bytes: Array(string.utf8)) }

    /// An open file descriptor, read with read(2); the caller closes it.
    public convenience init(fileDescriptor fd: Int32) {
        var info = stat()
        let size: Int64? = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int64(info.st_size) : nil
        self.init(totalBytes: size) {
            var chunk = [UInt8](repeating: 0, count: ByteSource.chunkSize)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw FeedReadError(message: "read failed: \(String(cString: strerror(errno)))") }
                if n == 0 { return nil }
                chunk.removeSubrange(n...)
                return chunk
            }
        }
    }

    public convenience init(fileHandle: FileHandle) {
        let size = try? fileHandle.seekToEnd()
        if size != nil { try? fileHandle.seek(toOffset: 0) }
        self.init(totalBytes: size.map(Int64.init)) {
            guard let data = try fileHandle.read(upToCount: ByteSource.chunkSize), !data.isEmpty else { return nil }
            return [UInt8](data)
        }
    }

    /// The file at `path`, closed when the source is released.
    public convenience init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FeedReadError(message: "cannot open \(path)")
        }
        self.init(fileHandle: handle)
    }

    /// The next chunk, or nil at the end of the input.
    public func nextChunk() throws -> [UInt8]? {
        guard let chunk = try pull() else { return nil }
        bytesRead += Int64(chunk.count)
        return chunk
    }
}

/// The input could not be read (not: it was read and is malformed).
public struct FeedReadError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Lines of a source (LF or CRLF), each at most `maxBytes`: a longer line is reported as too
/// long and skipped to its end without being kept.
struct LineReader {
    enum Line {
        case text([UInt8])
        case tooLong(Int)
    }

    let source: ByteSource
    let maxBytes: Int
    private var chunk: [UInt8] = []
    private var position = 0
    private var ended = false
    private(set) var lineNumber = 0

    init(source: ByteSource, maxBytes: Int) {
        self.source = source
        self.maxBytes = maxBytes
    }

    mutating func next() throws -> Line? {
        var line: [UInt8] = []
        var length = 0
        var sawAny = false
        while true {
            if position >= chunk.count {
                guard !ended, let more = try source.nextChunk() else {
                    ended = true
                    guard sawAny else { return nil }
                    break
                }
                chunk = more
                position = 0
                continue
            }
            sawAny = true
            let start = position
            let newline = chunk[start...].firstIndex(of: 0x0A)
            let end = newline ?? chunk.count
            length += end - start
            if length <= maxBytes { line.append(contentsOf: chunk[start..<end]) } else { line = [] }
            position = end + (newline == nil ? 0 : 1)
            if newline != nil { break }
        }
        lineNumber += 1
        if length > maxBytes { return .tooLong(length) }
        if line.last == 0x0D { line.removeLast() }
        return .text(line)
    }
}
