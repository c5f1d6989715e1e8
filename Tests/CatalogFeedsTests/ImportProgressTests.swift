import Testing

@testable import CatalogFeeds

/// A clock the test moves by hand, and the text the progress wrote.
final class FakeClock: @unchecked Sendable {
    var now = 100.0
    var written: [String] = []
}

@Suite("Reporting an import's progress")
struct ImportProgressTests {
    @Test("plain lines at most every interval, with share, rate and time left")
    func plain() {
        let clock = FakeClock()
        let progress = ImportProgress(totalBytes: 1000, interval: 5, isTerminal: false, clock: { clock.now }, sink: { clock.written.append($0) })
        clock.now = 102
        progress.update(rows: 100, bytesRead: 100)
        #expect(clock.written.isEmpty)
        clock.now = 110
        progress.update(rows: 4000, bytesRead: 250)
        #expect(clock.written == ["imported 4000 rows (25%, 400 rows/s, 30 s left)\n"])
        clock.now = 112
        progress.update(rows: 5000, bytesRead: 300)
        #expect(clock.written.count == 1)
        clock.now = 120
        progress.finish(rows: 8000, bytesRead: 1000)
        #expect(clock.written.last == "imported 8000 rows (100%, 400 rows/s, 0 s left)\n")
    }

    @Test("without a size: rows and rate only")
    func unknownTotal() {
        let clock = FakeClock()
        let progress = ImportProgress(totalBytes: nil, interval: 1, isTerminal: false, clock: { clock.now }, sink: { clock.written.append($0) })
        clock.now = 102
        progress.update(rows: 50, bytesRead: 9)
        #expect(clock.written == ["imported 50 rows (25 rows/s)\n"])
    }

    @Test("a terminal gets one bar redrawn with \\r, ended by a line feed")
    func terminal() {
        let clock = FakeClock()
        let progress = ImportProgress(totalBytes: 200, isTerminal: true, clock: { clock.now }, sink: { clock.written.append($0) })
        clock.now = 101
        progress.update(rows: 10, bytesRead: 100)
        #expect(clock.written == ["\r[###############---------------] 10 rows 50% (0.0/0.0 MB), 10 rows/s, 1 s left\u{1B}[K"])
        clock.now = 102
        progress.finish(rows: 20, bytesRead: 200)
        #expect(clock.written.last == "\n")
        #expect(clock.written.count == 3)
    }
}
