import Foundation

/// The body of a streaming response (for example Server-Sent Events).
///
/// Writers append bytes from any thread; the server reads them on its own thread. While nothing is
/// queued the connection is suspended in libmicrohttpd, so an idle subscriber holds no thread.
public final class ResponseStream: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [UInt8] = []
    private var readOffset = 0
    private var finished = false
    private var resumeHook: (@Sendable () -> Void)?
    private var suspended = false
    private var closeHandlers: [@Sendable () -> Void] = []
    private var closed = false
    private var aborted = false
    private var principal: Principal = .anonymous
    /// When the last event (not a keep-alive) was written, in `DispatchTime` nanoseconds.
    private var lastEventAt = DispatchTime.now().uptimeNanoseconds
    private var drainHandler: (@Sendable () -> Void)?

    public init() {}

    /// Who the stream is for, as the application verified it (anonymous unless set). The server
    /// counts streams by owner and closes anonymous ones that go idle; set it before returning
    /// the response.
    public var owner: Principal {
        get { lock.withLock { principal } }
        set { lock.withLock { principal = newValue } }
    }

    /// Queues a keep-alive (an SSE comment): it holds the connection open through proxies but,
    /// unlike an event, it is not activity that keeps an anonymous stream from its idle timeout.
    @discardableResult
    public func heartbeat(_ text: String) -> Bool { append(Array(text.utf8), isEvent: false) }

    /// Queues bytes for the client; returns false once the stream has ended.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool { append(bytes, isEvent: true) }

    private func append(_ bytes: [UInt8], isEvent: Bool) -> Bool {
        lock.lock()
        guard !finished else { lock.unlock(); return false }
        if isEvent { lastEventAt = DispatchTime.now().uptimeNanoseconds }
        pending.append(contentsOf: bytes)
        let hook = takeResumeHookLocked()
        lock.unlock()
        hook?()
        return true
    }

    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Ends the stream once the queued bytes are sent.
    public func finish() {
        lock.lock()
        finished = true
        let hook = takeResumeHookLocked()
        lock.unlock()
        hook?()
    }

    /// Bytes written and not yet taken by the connection: a writer with more to send waits
    /// (see `onDrain`) rather than queue its whole backlog in memory.
    public var queuedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending.count - readOffset
    }

    /// Called (on the server's thread; hand real work to another queue) each time the
    /// connection has taken every queued byte.
    public func onDrain(_ handler: @escaping @Sendable () -> Void) {
        lock.lock()
        drainHandler = handler
        lock.unlock()
    }

    public var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    /// Called once when the connection ends, for whatever reason (client gone, server stopping).
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        lock.lock()
        if closed { lock.unlock(); handler(); return }
        closeHandlers.append(handler)
        lock.unlock()
    }

    private func takeResumeHookLocked() -> (@Sendable () -> Void)? {
        guard suspended else { return nil }
        suspended = false
        return resumeHook
    }

    // MARK: - Server side

    enum ReadResult {
        case bytes(Int)
        case wouldBlock
        case end
        /// The server gave up on the stream: the connection is closed at once.
        case abort
    }

    /// Seconds since the last event (keep-alives do not count).
    var secondsSinceLastEvent: Double {
        lock.withLock { Double(DispatchTime.now().uptimeNanoseconds &- lastEventAt) / 1e9 }
    }

    /// Ends the stream and closes its connection without sending what is queued (an idle
    /// anonymous stream, a client that left).
    func abort() {
        lock.lock()
        aborted = true
        finished = true
        let hook = takeResumeHookLocked()
        lock.unlock()
        hook?()
    }

    /// Copies queued bytes into `buffer`; `.wouldBlock` means the caller must suspend (the
    /// stream has recorded that and will call the resume hook on the next write).
    func read(into buffer: UnsafeMutableRawPointer, max: Int, suspend: () -> Void) -> ReadResult {
        lock.lock()
        if aborted { lock.unlock(); return .abort }
        let available = pending.count - readOffset
        if available > 0 {
            let n = min(available, max)
            pending.withUnsafeBytes { raw in
                buffer.copyMemory(from: raw.baseAddress! + readOffset, byteCount: n)
            }
            readOffset += n
            var drained: (@Sendable () -> Void)?
            if readOffset == pending.count {
                // A drained buffer gives its memory back (a large page leaves no large buffer).
                pending = []
                readOffset = 0
                drained = drainHandler
            }
            lock.unlock()
            drained?()
            return .bytes(n)
        }
        defer { lock.unlock() }
        if finished { return .end }
        suspended = true
        suspend()
        return .wouldBlock
    }

    func setResumeHook(_ hook: @escaping @Sendable () -> Void) {
        lock.lock()
        resumeHook = hook
        lock.unlock()
    }

    func connectionClosed() {
        lock.lock()
        closed = true
        finished = true
        resumeHook = nil
        drainHandler = nil
        let handlers = closeHandlers
        closeHandlers = []
        lock.unlock()
        for h in handlers { h() }
    }
}
