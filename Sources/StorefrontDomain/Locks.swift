import Foundation

/// A lock that many readers hold at once (POSIX `pthread_rwlock_t`). The hot read paths (memos,
/// snapshots) take it shared, so two server threads looking something up never wait for each
/// other: a mutex there makes one sleep whenever the other is preempted while holding it, and
/// on a busy machine that sleep is a scheduler slice: the tail of the latency distribution.
public final class ReadWriteLock: @unchecked Sendable {
    private let rw = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    public init() {
        rw.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(rw, nil)
    }

    deinit {
        pthread_rwlock_destroy(rw)
        rw.deallocate()
    }

    public func read<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(rw)
        defer { pthread_rwlock_unlock(rw) }
        return try body()
    }

    public func write<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(rw)
        defer { pthread_rwlock_unlock(rw) }
        return try body()
    }
}

/// A small number for the calling thread, fixed for its life and different from every other
/// live thread's (until 2⁶³ threads have asked). Sharded structures pick their shard with it, so
/// each server thread keeps to its own lock.
public enum ThreadOrdinal {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var next = 0

    public static var current: Int {
        if let stored = pthread_getspecific(key) { return Int(bitPattern: stored) - 1 }
        let ordinal = lock.withLock {
            defer { next += 1 }
            return next
        }
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: ordinal + 1))
        return ordinal
    }
}
