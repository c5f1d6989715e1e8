import Foundation
import JSON

/// A thread-safe memo of bounded size for answers that are pure functions of their key (until
/// ``removeAll()``). Two generations: when the current one reaches half the bound it becomes the
/// previous one and the one before is forgotten, so recently used entries survive (a hit in the
/// previous generation is copied forward) with no per-entry bookkeeping. A hit in the current
/// generation takes the lock shared, so threads looking up at once do not wait for each other. The bound is a count of entries, or any cost (bytes, say) given per entry; an
/// entry costing more than an eighth of the bound is not kept.
public final class BoundedMemo<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = ReadWriteLock()
    private var current: [Key: Value] = [:]
    private var previous: [Key: Value] = [:]
    private var currentCost = 0
    private let generationCost: Int
    private let cost: (Key, Value) -> Int

    /// At most `capacity` entries.
    public convenience init(capacity: Int) {
        self.init(maxCost: capacity) { _, _ in 1 }
    }

    public init(maxCost: Int, cost: @escaping (Key, Value) -> Int) {
        generationCost = max(1, maxCost / 2)
        self.cost = cost
    }

    public subscript(key: Key) -> Value? {
        let (found, fromPrevious) = lock.read { () -> (Value?, Bool) in
            if let value = current[key] { return (value, false) }
            return (previous[key], true)
        }
        guard let found else { return nil }
        if fromPrevious {
            // Copied forward so that it survives the next turn of generations.
            lock.write { if current[key] == nil { store(key, found, cost(key, found)) } }
        }
        return found
    }

    public func insert(_ key: Key, _ value: Value) {
        let size = cost(key, value)
        guard size <= max(1, generationCost / 4) else { return }
        lock.write { store(key, value, size) }
    }

    /// Takes the entry out (nil when there is none).
    @discardableResult
    public func remove(_ key: Key) -> Value? {
        lock.write {
            if let value = current.removeValue(forKey: key) { return value }
            return previous.removeValue(forKey: key)
        }
    }

    public func removeAll() {
        lock.write {
            current = [:]
            previous = [:]
            currentCost = 0
        }
    }

    private func store(_ key: Key, _ value: Value, _ size: Int) {
        if currentCost + size > generationCost {
            previous = current
            current = [:]
            currentCost = 0
        }
        if current.updateValue(value, forKey: key) == nil { currentCost += size }
    }
}

/// Read-only action results kept by action, canonical arguments (RFC 8785) and the version of
/// the data they read, bounded by bytes. An entry is never stale: when the data changes its
/// version does, and the old entries are simply never asked for again (and age out).
public struct ResultKey: Hashable, Sendable {
    public var action: String
    public var arguments: [UInt8]
    public var version: Int

    public init(action: String, arguments: [UInt8], version: Int) {
        self.action = action
        self.arguments = arguments
        self.version = version
    }
}

public typealias ResultCache = BoundedMemo<ResultKey, EncodedJSON>

extension BoundedMemo where Key == ResultKey, Value == EncodedJSON {
    /// About `maxBytes` of results (keys' arguments counted too).
    public convenience init(maxBytes: Int) {
        self.init(maxCost: maxBytes) { key, value in value.bytes.count + key.arguments.count }
    }
}
