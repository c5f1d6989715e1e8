import Foundation

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
