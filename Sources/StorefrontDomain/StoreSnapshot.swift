import Dispatch
import Foundation

/// A value read from the store (ratings, stock levels), kept while it cannot have changed.
///
/// This process forgets it when a write that changes it commits (``invalidate()``, called after
/// the commit); it is also at most `maxAge` old, which bounds how long a write by another gateway
/// process on the same store takes to show. `version` changes whenever the value may have: an
/// invalidation, or a reload that found it different; caches of answers derived from the value
/// key on it.
///
/// Readers take a shared lock and never wait for a load: when the value is stale one caller
/// reloads it while the others keep answering from the previous one (at most one load's time
/// older). A load that overlaps an invalidation is used by its caller but not kept, so a
/// value from before a commit never outlives it.
public final class StoreSnapshot<Value: Equatable & Sendable>: @unchecked Sendable {
    private struct Loaded {
        public var value: Value
        public var loadedAt: UInt64  // uptime, nanoseconds
    }

    private let load: () throws -> Value
    private let empty: Value
    private let maxAgeNanoseconds: UInt64
    private let lock = ReadWriteLock()
    private var loaded: Loaded?
    private var generation = 0
    private var dataVersion = 0
    private var reloading = false

    /// `empty` answers when the store cannot be read and nothing was loaded before.
    public init(maxAge: TimeInterval = 1, empty: Value, load: @escaping () throws -> Value) {
        self.load = load
        self.empty = empty
        maxAgeNanoseconds = UInt64(max(0, maxAge) * 1e9)
    }

    /// The current value, loaded first when there is none or it is older than `maxAge`.
    public var value: Value { current().value }

    /// The value's version (reloading it first when it is older than `maxAge`).
    public var version: Int { current().version }

    public func invalidate() {
        lock.write {
            generation += 1
            dataVersion += 1
            loaded = nil
        }
    }

    private func current() -> (value: Value, version: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        let (cached, version, startGeneration) = lock.read { (loaded, dataVersion, generation) }
        if let cached, now &- cached.loadedAt < maxAgeNanoseconds { return (cached.value, version) }
        // Stale: one caller reloads while the rest answer from the previous value.
        if let cached {
            let claimed = lock.write {
                guard !reloading else { return false }
                reloading = true
                return true
            }
            guard claimed else { return (cached.value, version) }
        }
        let loadedAt = DispatchTime.now().uptimeNanoseconds
        let fresh = try? load()
        return lock.write {
            if cached != nil { reloading = false }
            guard let fresh else { return ((loaded ?? cached)?.value ?? empty, dataVersion) }
            if generation == startGeneration {
                if let previous = loaded ?? cached, previous.value != fresh { dataVersion += 1 }
                loaded = Loaded(value: fresh, loadedAt: loadedAt)
            }
            return (fresh, dataVersion)
        }
    }
}
