import Foundation
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("Memos, snapshots and thread ordinals")
struct ConcurrencyTests {
    @Test("a bounded memo keeps recent entries, copies hits forward and forgets the oldest generation")
    func boundedMemo() {
        let memo = BoundedMemo<Int, String>(capacity: 8)  // generations of 4
        for i in 0..<4 { memo.insert(i, "v\(i)") }
        #expect((0..<4).allSatisfy { memo[$0] == "v\($0)" })
        for i in 4..<8 { memo.insert(i, "v\(i)") }  // 0…3 become the previous generation
        #expect(memo[1] == "v1", "a hit in the previous generation is copied forward")
        for i in 8..<11 { memo.insert(i, "v\(i)") }  // another turn: the old previous generation is dropped
        #expect(memo[1] == "v1", "copied forward, so it survived the turn")
        #expect(memo[0] == nil && memo[2] == nil && memo[3] == nil)
        memo.removeAll()
        #expect(memo[9] == nil)
    }

    @Test("two threads hammering one memo see only values that were inserted for their keys")
    func memoUnderContention() async {
        let memo = BoundedMemo<Int, Int>(capacity: 64)
        await withTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var ok = true
                    for i in 0..<20_000 {
                        let key = (i * 7 + t) % 100
                        if let value = memo[key] { ok = ok && value == key * key } else { memo.insert(key, key * key) }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }

    final class Source: @unchecked Sendable {
        let lock = NSLock()
        var value = 1
        var loads = 0
        var fails = false
        var gate: DispatchSemaphore?

        /// Reads the value, then (when gated) waits before returning it: a slow read.
        func load() throws -> Int {
            let read = try lock.withLock {
                loads += 1
                if fails { throw CocoaError(.fileReadUnknown) }
                return value
            }
            gate?.wait()
            return read
        }
    }

    @Test("a store snapshot is loaded once, reloaded when invalidated or old, and versioned by change")
    func snapshotVersions() throws {
        let source = Source()
        let snapshot = StoreSnapshot<Int>(maxAge: 3600, empty: -1) { try source.load() }
        #expect(snapshot.value == 1)
        let v0 = snapshot.version
        #expect(snapshot.value == 1 && source.loads == 1, "kept while fresh")
        source.value = 2
        #expect(snapshot.value == 1, "another process's change waits for maxAge")
        snapshot.invalidate()
        #expect(snapshot.value == 2 && source.loads == 2)
        #expect(snapshot.version != v0)

        let aged = StoreSnapshot<Int>(maxAge: 0, empty: -1) { try source.load() }
        let a0 = aged.version
        #expect(aged.version == a0, "a reload that finds the same value keeps the version")
        source.value = 3
        #expect(aged.value == 3)
        #expect(aged.version != a0, "a reload that finds a new value changes it")
        source.fails = true
        #expect(aged.value == 3, "a failed reload keeps the last value")
        let never = StoreSnapshot<Int>(maxAge: 1, empty: -1) { try source.load() }
        #expect(never.value == -1, "nothing loaded and the store unreadable: the empty value")
    }

    @Test("a load that overlaps an invalidation is not kept")
    func loadOverlappingInvalidation() async throws {
        let source = Source()
        let snapshot = StoreSnapshot<Int>(maxAge: 3600, empty: -1) { try source.load() }
        let gate = DispatchSemaphore(value: 0)
        source.gate = gate
        let slow = Task.detached { snapshot.value }  // reads 1, then blocks inside the load
        while source.lock.withLock({ source.loads }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        source.lock.withLock {
            source.value = 5  // a commit lands while that load is in flight…
            source.gate = nil
        }
        snapshot.invalidate()  // …and invalidates after it
        gate.signal()
        #expect(await slow.value == 1, "its caller gets what it read")
        #expect(snapshot.value == 5, "the overlapping load was not kept, so the next read loads again")
    }

    @Test("thread ordinals are stable per thread and distinct across threads")
    func ordinals() {
        let mine = ThreadOrdinal.current
        #expect(ThreadOrdinal.current == mine)
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var ordinals: [Int] = []
        }
        let seen = Seen()
        let threads = (0..<4).map { _ in
            Thread {
                let o = ThreadOrdinal.current
                seen.lock.withLock { seen.ordinals.append(o) }
                Thread.sleep(forTimeInterval: 0.2)  // alive while the others ask
            }
        }
        threads.forEach { $0.start() }
        while seen.lock.withLock({ seen.ordinals.count }) < 4 { usleep(1000) }
        #expect(Set(seen.lock.withLock { seen.ordinals } + [mine]).count == 5)
    }
}
