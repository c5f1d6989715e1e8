import Foundation
import JSON
import Store
import StorefrontDomain

/// Wallets in the store: a wallet's state read from its row and the ledger's running totals,
/// and ledger rows appended (SQL; the rules are `WalletState` and `SpendControls` in the domain).
extension WalletState {
    /// Balance and the spending of every window, from the totals the ledger's triggers keep
    /// (migration 9). Spending that counts against limits is debits and holds, less released
    /// holds.
    static let totalsSQL = """
        SELECT period, amount, spend FROM ledger_totals
        WHERE agent_id = ?1 AND ((period = 'all' AND start = 0) OR (period = 'day' AND start = ?2)
            OR (period = 'week' AND start = ?3) OR (period = 'month' AND start = ?4))
        """

    package static func load(_ agentID: String, db: Connection, now: Date = Date()) throws -> WalletState? {
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
}

extension SpendControls {
    init(row: Row) {
        self.init()
        perTransaction = row["per_transaction"].int
        daily = row["daily"].int
        weekly = row["weekly"].int
        monthly = row["monthly"].int
        allTime = row["all_time"].int
        approvalThreshold = row["approval_threshold"].int
        allowedCategories = row["allowed_categories"].string.map { Set($0.split(separator: " ").map(String.init)) }
        blockedCategories = Set((row["blocked_categories"].string ?? "").split(separator: " ").map(String.init))
    }
}

extension Connection {
    /// Appends one ledger row. The ledger's triggers add it to the agent's running totals, so
    /// first the new balance and all-time spend are checked to fit in 64 bits: an amount that
    /// would overflow them is refused (`amount_out_of_range`) before anything is written.
    /// `totals` are the balance and all-time spend when the caller read them in this
    /// transaction (nil: read here).
    package func appendLedger(
        agentID: String, kind: String, amount: Int64, currency: String, reference: String?, note: String? = nil,
        totals known: (balance: Int64, spend: Int64)? = nil
    ) throws {
        var balance: Int64 = 0, spend: Int64 = 0
        if let known {
            (balance, spend) = known
        } else if let totals = try queryOne(
            "SELECT amount, spend FROM ledger_totals WHERE agent_id = ? AND period = 'all' AND start = 0", [.text(agentID)])
        {
            (balance, spend) = (totals[0].int ?? 0, totals[1].int ?? 0)
        }
        _ = try MoneyMath.add(balance, amount, "The wallet's balance after this \(kind)")
        if ["debit", "hold", "release"].contains(kind) {
            _ = try MoneyMath.subtract(spend, amount, "The wallet's spending after this \(kind)")
        }
        try runDeferred(
            "INSERT INTO ledger (agent_id, kind, amount, currency, reference, note, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(agentID), .text(kind), .integer(amount), .text(currency), SQLValue(reference), SQLValue(note),
             .integer(Int64(Date().timeIntervalSince1970))])
    }
}

extension SpendControls {
    /// Writes the controls the agent's principal set on its wallet.
    package func save(agentID: String, db: Connection) throws {
        try db.run(
            """
            UPDATE wallets SET per_transaction = ?, daily = ?, weekly = ?, monthly = ?, all_time = ?, approval_threshold = ?,
            allowed_categories = ?, blocked_categories = ? WHERE agent_id = ?
            """,
            [perTransaction.map(SQLValue.integer) ?? .null, daily.map(SQLValue.integer) ?? .null,
             weekly.map(SQLValue.integer) ?? .null, monthly.map(SQLValue.integer) ?? .null,
             allTime.map(SQLValue.integer) ?? .null, approvalThreshold.map(SQLValue.integer) ?? .null,
             SQLValue(allowedCategories.map { $0.sorted().joined(separator: " ") }),
             .text(blockedCategories.sorted().joined(separator: " ")), .text(agentID)])
    }
}
