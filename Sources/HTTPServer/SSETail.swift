import Foundation

/// A live Server-Sent Events stream over rows in the store: sends what is stored after a given
/// id, then follows new rows as the change feed reports them, exactly once each and in order,
/// until the source is complete or the client leaves. Keep-alive comments hold idle streams
/// open (they are not events: an anonymous stream without events still reaches its idle
/// timeout); while idle the connection is suspended and holds no server thread. The feed wakes
/// the tail only for events of its `topic`.
public final class SSETail: @unchecked Sendable {
    /// Rows after an id, each with its id and its SSE text.
    public typealias Fetch = @Sendable (_ after: Int64) throws -> [(id: Int64, text: String)]

    public let stream = ResponseStream()
    private var cursor: Int64
    private let feed: ChangeFeed
    private let topic: String
    private let fetch: Fetch
    private let isComplete: (@Sendable () throws -> Bool)?
    /// Checked before sending: a stream whose reader lost its right to it ends.
    public var stillAllowed: (@Sendable () -> Bool)?
    private let lock = NSLock()
    private var token: (topic: String, id: UUID)?
    private var keepAlive: DispatchSourceTimer?
    /// Seconds between keep-alive comments (`serve --stream-keepalive`).
    nonisolated(unsafe) public static var keepAliveInterval: TimeInterval = 15
    /// Rows read from the store at a time.
    public static let pageSize = 100
    /// Bytes queued for the connection beyond which no further page is read until the
    /// client has taken them: a backlog is read page by page as the client reads, never whole.
    public static let highWater = 32 * 1024
    /// Set when the tail stopped reading because the client had not taken what was queued.
    private var waitingForDrain = false

    public init(
        after: Int64, feed: ChangeFeed, topic: String, fetch: @escaping Fetch,
        isComplete: (@Sendable () throws -> Bool)? = nil
    ) {
        cursor = after
        self.feed = feed
        self.topic = topic
        self.fetch = fetch
        self.isComplete = isComplete
    }

    public func start() {
        token = feed.listen(topic: topic) { [weak self] in self?.pump() }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + Self.keepAliveInterval, repeating: Self.keepAliveInterval)
        timer.setEventHandler { [weak self] in self?.stream.heartbeat(": keep-alive\n\n") }
        timer.resume()
        keepAlive = timer
        // The stream keeps its tail alive until the connection ends (the response owns the
        // stream, nothing else owns the tail).
        stream.onClose { self.close() }
        stream.onDrain { [weak self] in
            guard let self, self.lock.withLock({ self.waitingForDrain }) else { return }
            DispatchQueue.global().async { [weak self] in self?.pump() }
        }
        pump()
    }

    private func close() {
        if let token { feed.remove(token) }
        keepAlive?.cancel()
    }

    /// Sends whatever is new, in order, exactly once.
    public func pump() {
        lock.lock()
        defer { lock.unlock() }
        // A backlog larger than one page is read page after page, each once the client has
        // taken (nearly) all of the one before.
        waitingForDrain = false
        while !stream.isFinished {
            if stream.queuedBytes >= Self.highWater {
                waitingForDrain = true
                return
            }
            guard let rows = try? fetch(cursor), !rows.isEmpty else { break }
            if let stillAllowed, !stillAllowed() {
                stream.finish()
                close()
                return
            }
            for row in rows {
                cursor = row.id
                stream.write(row.text)
            }
        }
        guard !stream.isFinished else { return }
        if let isComplete, (try? isComplete()) == true, (try? fetch(cursor))?.isEmpty ?? true {
            stream.finish()
            close()
        }
    }
}
