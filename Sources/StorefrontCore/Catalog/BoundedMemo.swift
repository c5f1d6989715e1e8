import Foundation
import JSON

/// A thread-safe memo of bounded size for answers that are pure functions of their key (until
/// ``removeAll()``). Two generations: when the current one fills half the capacity it becomes
/// the previous one and the one before is forgotten, so recently used entries survive (a hit in
/// the previous generation is copied forward) at a cost of one lock per lookup and no
/// per-entry bookkeeping.
final class BoundedMemo<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var current: [Key: Value] = [:]
    private var previous: [Key: Value] = [:]
    private let generationSize: Int

    init(capacity: Int) {
        generationSize = max(1, capacity / 2)
    }

    subscript(key: Key) -> Value? {
        lock.withLock {
            if let value = current[key] { return value }
            guard let value = previous[key] else { return nil }
            store(key, value)
            return value
        }
    }

    func insert(_ key: Key, _ value: Value) {
        lock.withLock { store(key, value) }
    }

    func removeAll() {
        lock.withLock {
            current = [:]
            previous = [:]
        }
    }

    var count: Int { lock.withLock { current.count + previous.count } }

    private func store(_ key: Key, _ value: Value) {
        if current.count >= generationSize {
            previous = current
            current = [:]
        }
        current[key] = value
    }
}

/// Read-only action results kept by action, canonical arguments (RFC 8785) and the version of
/// the data they read, bounded by bytes. An entry is never stale: when the data changes its
/// version does, and the old entries are simply never asked for again (and age out).
final class ResultCache: @unchecked Sendable {
    struct Key: Hashable {
        var action: String
        var arguments: [UInt8]
        var version: Int
    }

    private let lock = NSLock()
    private var current: [Key: EncodedJSON] = [:]
    private var previous: [Key: EncodedJSON] = [:]
    private var currentBytes = 0
    private let generationBytes: Int

    /// `maxBytes` bounds the results kept (about; keys are not counted). A result larger than an
    /// eighth of it is not kept.
    init(maxBytes: Int) {
        generationBytes = max(1, maxBytes / 2)
    }

    subscript(key: Key) -> EncodedJSON? {
        lock.withLock {
            if let value = current[key] { return value }
            guard let value = previous[key] else { return nil }
            store(key, value)
            return value
        }
    }

    func insert(_ key: Key, _ value: EncodedJSON) {
        guard value.bytes.count <= generationBytes / 4 else { return }
        lock.withLock { store(key, value) }
    }

    private func store(_ key: Key, _ value: EncodedJSON) {
        let size = value.bytes.count + key.arguments.count
        if currentBytes + size > generationBytes {
            previous = current
            current = [:]
            currentBytes = 0
        }
        if current.updateValue(value, forKey: key) == nil { currentBytes += size }
    }
}
