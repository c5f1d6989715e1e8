import Foundation

/// Wakes live SSE streams when events are appended: at once for events written by this
/// process, and within `pollInterval` for events another gateway process wrote to the store
/// (at once too when the store says another process committed some: `othersChanged`).
/// One feed watches one table (MCP stream events, inbox events) through `latest`.
///
/// Listeners subscribe to a topic (an MCP stream, an agent's inbox) and only the listeners of
/// the topics an event concerns are woken, so an event costs the same with 2 or 2,000 idle
/// streams open.
public final class ChangeFeed: @unchecked Sendable {
    /// The topics of rows with ids in `after+1 ... upTo`, or nil when there are too many to list
    /// (every listener is woken then).
    public typealias Topics = @Sendable (_ after: Int64, _ upTo: Int64) throws -> Set<String>?

    private let latest: @Sendable () throws -> Int64
    private let topics: Topics
    private let lock = NSLock()
    private var listeners: [String: [UUID: @Sendable () -> Void]] = [:]
    private var lastSeen: Int64 = 0
    private var timer: DispatchSourceTimer?
    private let queue = DispatchQueue(label: "change-feed")

    /// Wake-ups delivered by every feed of the process (`storefront_stream_wakeups_total`).
    public static let wakeups = AtomicCounter()

    public init(pollInterval: TimeInterval = 0.25, latest: @escaping @Sendable () throws -> Int64, topics: @escaping Topics) {
        self.latest = latest
        self.topics = topics
        lastSeen = (try? latest()) ?? 0
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + pollInterval, repeating: pollInterval)
        timer.setEventHandler { [weak self] in self?.poll() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    public func stop() {
        timer?.cancel()
        timer = nil
    }

    /// Registers a wake-up for events of one topic; returns a token for `remove`.
    public func listen(topic: String, _ wake: @escaping @Sendable () -> Void) -> (topic: String, id: UUID) {
        let token = UUID()
        lock.withLock { listeners[topic, default: [:]][token] = wake }
        return (topic, token)
    }

    public func remove(_ token: (topic: String, id: UUID)) {
        lock.withLock {
            listeners[token.topic]?[token.id] = nil
            if listeners[token.topic]?.isEmpty == true { listeners[token.topic] = nil }
        }
    }

    /// Called after this process appended an event of `topic`.
    public func published(_ eventID: Int64, topic: String) {
        let wakes = lock.withLock { () -> [@Sendable () -> Void] in
            lastSeen = max(lastSeen, eventID)
            return listeners[topic].map { Array($0.values) } ?? []
        }
        deliver(wakes)
    }

    /// Another process committed rows of the watched table (PostgreSQL's NOTIFY): look now
    /// instead of at the next poll.
    public func othersChanged() {
        queue.async { [weak self] in self?.poll() }
    }

    private func poll() {
        let hasListeners = lock.withLock { !listeners.isEmpty }
        guard hasListeners, let latest = try? latest() else { return }
        let after = lock.withLock { () -> Int64? in
            guard latest > lastSeen else { return nil }
            defer { lastSeen = latest }
            return lastSeen
        }
        guard let after else { return }
        let changed = (try? topics(after, latest)) ?? nil
        let wakes = lock.withLock { () -> [@Sendable () -> Void] in
            guard let changed else { return listeners.values.flatMap(\.values) }
            return changed.flatMap { listeners[$0].map { Array($0.values) } ?? [] }
        }
        deliver(wakes)
    }

    private func deliver(_ wakes: [@Sendable () -> Void]) {
        guard !wakes.isEmpty else { return }
        Self.wakeups.add(Int64(wakes.count))
        wakes.forEach { $0() }
    }
}

/// A counter shared by threads.
public final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int64 = 0

    public func add(_ n: Int64) { lock.withLock { count += n } }
    public var value: Int64 { lock.withLock { count } }
}
