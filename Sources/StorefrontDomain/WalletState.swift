import Foundation
import JSON

/// A wallet: balance from the append-only ledger, the principal's controls, and what each
/// window has spent (the store reads it inside the writer's transaction when money moves, so
/// checks and debits see the same state). Every spend limit is enforced in `SpendLimitCheck.swift`.
public struct WalletState: Sendable {
    public var agentID: String
    public var currency: String
    public var balance: Int64
    public var controls: SpendControls
    public var spent: [SpendControls.Window: Int64]
    public var now: Date

    public init(
        agentID: String, currency: String, balance: Int64, controls: SpendControls, spent: [SpendControls.Window: Int64], now: Date
    ) {
        self.agentID = agentID
        self.currency = currency
        self.balance = balance
        self.controls = controls
        self.spent = spent
        self.now = now
    }

    public func remaining(_ window: SpendControls.Window) -> Int64? {
        guard let limit = controls.limit(window) else { return nil }
        if window == .perTransaction { return limit }
        // A window's spending can be negative (a hold placed in an earlier window, released in
        // this one), so the difference is held at Int64.max rather than overflowing.
        let (left, overflow) = limit.subtractingReportingOverflow(spent[window] ?? 0)
        return overflow ? .max : max(0, left)
    }

    public var json: JSON {
        var windows: [String: JSON] = [:]
        for window in SpendControls.Window.allCases {
            let bounds = SpendControls.bounds(window, now: now)
            windows[window.rawValue] = [
                "limit": controls.limit(window).map { Money(amount: $0, currency: currency).json } ?? .null,
                "spent": window == .perTransaction ? .null : Money(amount: spent[window] ?? 0, currency: currency).json,
                "remaining": remaining(window).map { Money(amount: $0, currency: currency).json } ?? .null,
                "resets_at": bounds.end.map { .string(Timestamp.iso8601(seconds: $0)) } ?? .null,
            ]
        }
        return [
            "agent_id": .string(agentID),
            "balance": Money(amount: balance, currency: currency).json,
            "controls": controls.json,
            "windows": .object(windows),
            "approval_threshold": controls.approvalThreshold.map { Money(amount: $0, currency: currency).json } ?? .null,
        ]
    }
}
