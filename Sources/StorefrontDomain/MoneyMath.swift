/// Checked arithmetic on amounts of money (integer minor units).
///
/// Swift traps on `Int64` overflow, which would end the whole gateway (or the CLI) on one
/// hostile or careless number: funding 9223372036854775807 to a wallet that already holds
/// money, a price times a quantity, a sum of lines. Every sum, difference and product of
/// amounts goes through these functions instead, and an overflow is refused as a
/// 422 `amount_out_of_range` error that names what was being computed.
public enum MoneyMath {
    /// The error for an amount that does not fit in 64-bit minor units.
    public static func outOfRange(_ what: String) -> ActionError {
        ActionError(
            status: 422, kind: .invalidRequest, code: "amount_out_of_range",
            message: "\(what) is too large: amounts are whole minor units up to \(Int64.max).",
            details: ["max_amount": .int(Int64.max)])
    }

    /// `a + b`, or `amount_out_of_range` naming `what`.
    public static func add(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw outOfRange(what()) }
        return sum
    }

    /// `a - b`, or `amount_out_of_range` naming `what`.
    public static func subtract(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        if overflow { throw outOfRange(what()) }
        return difference
    }

    /// `a × b`, or `amount_out_of_range` naming `what`.
    public static func multiply(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw outOfRange(what()) }
        return product
    }

    /// `a + b`, held at the bounds of `Int64` instead of overflowing: for counters (analytics
    /// revenue) that must never stop the process and have no caller to refuse.
    public static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    /// Whether `used + amount` would pass `limit` (an overflowing sum passes every limit).
    public static func exceeds(_ used: Int64, plus amount: Int64, limit: Int64) -> Bool {
        let (sum, overflow) = used.addingReportingOverflow(amount)
        return overflow || sum > limit
    }
}
