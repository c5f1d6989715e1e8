import Foundation
import JSON
import Store
import StorefrontDomain

/// A wallet: balance from the append-only ledger, the principal's controls, and what each
/// window has spent. Read inside the writer's transaction when money moves, so checks and
/// debits see the same state.
public struct WalletState: Sendable {
    public var agentID: String
    public var currency: String
    public var balance: Int64
    public var controls: SpendControls
    public var spent: [SpendControls.Window: Int64]
    public var now: Date

    /// Balance and the spending of every window, from the totals the ledger's triggers keep
    /// (migration 9). Spending that counts against limits is debits and holds, less released
    /// holds.
    static let totalsSQL = """
        SELECT period, amount, spend FROM ledger_totals
        WHERE agent_id = ?1 AND ((period = 'all' AND start = 0) OR (period = 'day' AND start = ?2)
            OR (period = 'week' AND start = ?3) OR (period = 'month' AND start = ?4))
        """

    static func load(_ agentID: String, db: Connection, now: Date = Date()) throws -> WalletState? {
        guard let row = try db.queryOne("SELECT * FROM wallets WHERE agent_id = ?", [.text(agentID)]) else { return nil }
        var balance: Int64 = 0
        var spent: [SpendControls.Window: Int64] = [.daily: 0, .weekly: 0, .monthly: 0, .allTime: 0]
        for total in try db.query(
            totalsSQL,
            [.text(agentID), .integer(SpendControls.bounds(.daily, now: now).start),
             .integer(SpendControls.bounds(.weekly, now: now).start), .integer(SpendControls.bounds(.monthly, now: now).start)])
        {
            let spend = total[2].int ?? 0
            switch total[0].string {
            case "all":
                balance = total[1].int ?? 0
                spent[.allTime] = spend
            case "day": spent[.daily] = spend
            case "week": spent[.weekly] = spend
            case "month": spent[.monthly] = spend
            default: break
            }
        }
        return WalletState(
            agentID: agentID, currency: row["currency"].string ?? "USD", balance: balance,
            controls: SpendControls(row: row), spent: spent, now: now)
    }

    public func remaining(_ window: SpendControls.Window) -> Int64? {
        guard let limit = controls.limit(window) else { return nil }
        if window == .perTransaction { return limit }
        // A window's spending can be negative (a hold placed in an earlier window, released in
        // this one), so the difference is held at Int64.max rather than overflowing.
        let (left, overflow) = limit.subtractingReportingOverflow(spent[window] ?? 0)
        return overflow ? .max : max(0, left)
    }

    /// Refuses a purchase of `amount` in `categories` that a control forbids.
    func check(amount: Int64, categories: Set<String>) throws {
        if let allowed = controls.allowedCategories, let outside = categories.subtracting(allowed).sorted().first {
            throw ActionError(
                status: 403, kind: .permission, code: "category_not_allowed",
                message: "The principal allows only \(allowed.sorted().joined(separator: ", ")); \(outside) is not among them.",
                details: ["category": .string(outside)])
        }
        if let blocked = categories.intersection(controls.blockedCategories).sorted().first {
            throw ActionError(
                status: 403, kind: .permission, code: "category_blocked",
                message: "The principal blocked purchases in \(blocked).", details: ["category": .string(blocked)])
        }
        for window in SpendControls.Window.allCases {
            guard let limit = controls.limit(window) else { continue }
            let used = window == .perTransaction ? 0 : (spent[window] ?? 0)
            if MoneyMath.exceeds(used, plus: amount, limit: limit) {
                throw ActionError(
                    status: 403, kind: .permission, code: "spend_limit_exceeded",
                    message: "This purchase of \(Money(amount: amount, currency: currency).displayString) would exceed the \(window.rawValue.replacingOccurrences(of: "_", with: "-")) limit of \(Money(amount: limit, currency: currency).displayString) (\(Money(amount: max(0, limit - used), currency: currency).displayString) left).",
                    param: window.rawValue,
                    details: [
                        "limit": .string(window.rawValue), "limit_amount": Money(amount: limit, currency: currency).json,
                        "spent": Money(amount: used, currency: currency).json,
                        "remaining": Money(amount: max(0, limit - used), currency: currency).json,
                        "attempted": Money(amount: amount, currency: currency).json,
                    ])
            }
        }
        if amount > balance {
            throw ActionError(
                status: 402, kind: .paymentRequired, code: "insufficient_funds",
                message: "The wallet holds \(Money(amount: balance, currency: currency).displayString); this purchase needs \(Money(amount: amount - balance, currency: currency).displayString) more. The principal funds it with `storefront wallets fund \(agentID) AMOUNT` or POST /admin/api/wallets/\(agentID)/fund.",
                details: [
                    "missing": Money(amount: amount - balance, currency: currency).json,
                    "balance": Money(amount: balance, currency: currency).json,
                    "fund_with": .string("POST /admin/api/wallets/\(agentID)/fund"),
                ])
        }
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

extension Connection {
    /// Appends one ledger row. The ledger's triggers add it to the agent's running totals, so
    /// first the new balance and all-time spend are checked to fit in 64 bits: an amount that
    /// would overflow them is refused (`amount_out_of_range`) before anything is written.
    func appendLedger(agentID: String, kind: String, amount: Int64, currency: String, reference: String?, note: String? = nil)
        throws
    {
        let totals = try queryOne(
            "SELECT amount, spend FROM ledger_totals WHERE agent_id = ? AND period = 'all' AND start = 0", [.text(agentID)])
        let balance = totals?[0].int ?? 0, spend = totals?[1].int ?? 0
        _ = try MoneyMath.add(balance, amount, "The wallet's balance after this \(kind)")
        if ["debit", "hold", "release"].contains(kind) {
            _ = try MoneyMath.subtract(spend, amount, "The wallet's spending after this \(kind)")
        }
        try run(
            "INSERT INTO ledger (agent_id, kind, amount, currency, reference, note, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(agentID), .text(kind), .integer(amount), .text(currency), SQLValue(reference), SQLValue(note),
             .integer(Int64(Date().timeIntervalSince1970))])
    }
}
