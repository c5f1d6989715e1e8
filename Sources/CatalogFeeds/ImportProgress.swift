import Foundation

/// Progress of a long import, for the person waiting on it: on a terminal, one line redrawn in
/// place (`\r`) with a bar, the rows, the rate and the time left; otherwise (a log, a pipe) a
/// plain line at most every `interval` seconds, such as
/// `imported 120000 rows (35%, 41000 rows/s, 12 s left)`. The share and time left come from
/// bytes read of the input's size, when known. The clock and the sink are injectable for tests.
public final class ImportProgress {
    private let total: Int64?
    private let interval: Double
    private let isTerminal: Bool
    private let clock: () -> Double
    private let sink: (String) -> Void
    private let started: Double
    private var lastReport: Double
    private var wroteBar = false

    /// - Parameters:
    ///   - totalBytes: the input's size, when known.
    ///   - interval: seconds between plain lines (a terminal's bar is redrawn at most 10 times a second).
    ///   - clock: seconds from any fixed origin; monotonic by default.
    ///   - sink: where the text goes; standard error by default.
    public init(
        totalBytes: Int64?, interval: Double = 5, isTerminal: Bool = isatty(STDERR_FILENO) != 0,
        clock: @escaping () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
        sink: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        total = totalBytes.flatMap { $0 > 0 ? $0 : nil }
        self.interval = interval
        self.isTerminal = isTerminal
        self.clock = clock
        self.sink = sink
        started = clock()
        lastReport = started
    }

    /// Called as rows are imported (cheap: it writes only when a report is due).
    public func update(rows: Int, bytesRead: Int64) {
        let now = clock()
        guard now - lastReport >= (isTerminal ? 0.1 : interval) else { return }
        lastReport = now
        report(rows: rows, bytesRead: bytesRead, now: now)
    }

    /// The last report, and on a terminal the line ended.
    public func finish(rows: Int, bytesRead: Int64) {
        let now = clock()
        report(rows: rows, bytesRead: bytesRead, now: now)
        if isTerminal && wroteBar { sink("\n") }
    }

    private func megabytes(_ bytes: Int64) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10)"
    }

    private func report(rows: Int, bytesRead: Int64, now: Double) {
        let elapsed = max(now - started, 0.001)
        let rate = Int((Double(rows) / elapsed).rounded())
        var share: Double?
        var left: Int?
        if let total {
            let fraction = min(Double(bytesRead) / Double(total), 1)
            share = fraction
            if fraction > 0 { left = Int((elapsed * (1 - fraction) / fraction).rounded()) }
        }
        if isTerminal {
            wroteBar = true
            let width = 30
            let filled = Int((share ?? 0) * Double(width))
            let bar = share == nil ? "" : "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            let percent = share.map { " \(Int(($0 * 100).rounded(.down)))%" } ?? ""
            let amount = total.map { " (\(megabytes(bytesRead))/\(megabytes($0)) MB)" } ?? ""
            sink("\r\(bar)\(rows) rows\(percent)\(amount), \(rate) rows/s" + (left.map { ", \($0) s left" } ?? "") + "\u{1B}[K")
        } else {
            var details = [String]()
            if let share { details.append("\(Int((share * 100).rounded(.down)))%") }
            details.append("\(rate) rows/s")
            if let left { details.append("\(left) s left") }
            sink("imported \(rows) rows (\(details.joined(separator: ", ")))\n")
        }
    }
}
