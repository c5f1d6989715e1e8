import Foundation

/// Wakes live SSE streams when events are appended: at once for events written by this
/// process, and within `pollInterval` for events another gateway process wrote to the store.
/// One feed watches one table (MCP stream events, inbox events) through `latest`.
final class ChangeFeed: @unchecked Sendable {
    private let latest: @Sendable () throws -> Int64
    private let lock = NSLock()
    private var listeners: [UUID: @Sendable () -> Void] = [:]
    private var lastSeen: Int64 = 0
    private var timer: DispatchSourceTimer?

    init(pollInterval: TimeInterval = 0.25, latest: @escaping @Sendable () throws -> Int64) {
        self.latest = latest
        lastSeen = (try? latest()) ?? 0
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mcp-event-feed"))
        timer.schedule(deadline: .now() + pollInterval, repeating: pollInterval)
        timer.setEventHandler { [weak self] in self?.poll() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    func stop() {
        timer?.cancel()
        timer = nil
    }

    /// Registers a wake-up; returns a token for `remove`.
    func listen(_ wake: @escaping @Sendable () -> Void) -> UUID {
        let token = UUID()
        lock.withLock { listeners[token] = wake }
        return token
    }

    func remove(_ token: UUID) {
        lock.withLock { listeners[token] = nil }
    }

    /// Called after this process appended an event.
    func published(_ eventID: Int64) {
        let wakes = lock.withLock { () -> [@Sendable () -> Void] in
            lastSeen = max(lastSeen, eventID)
            return Array(listeners.values)
        }
        wakes.forEach { $0() }
    }

    private func poll() {
        let hasListeners = lock.withLock { !listeners.isEmpty }
        guard hasListeners, let latest = try? latest() else { return }
        let wakes = lock.withLock { () -> [@Sendable () -> Void] in
            guard latest > lastSeen else { return [] }
            lastSeen = latest
            return Array(listeners.values)
        }
        wakes.forEach { $0() }
    }
}
