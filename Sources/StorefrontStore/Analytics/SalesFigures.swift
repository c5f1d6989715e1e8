import Store

/// Orders, revenue and refunds: one definition, read from the store's `orders` table, for every
/// place that shows them (`/metrics`, the analytics API and so the dashboard).
///
/// - An **order** is a row of `orders`: a purchase paid from a wallet, counted once however often
///   its `complete_checkout` is replayed with the same idempotency key, and counted whether it
///   completed at once or after the principal approved it (from the dashboard, the admin API or
///   the CLI, in whichever process).
/// - **Revenue** is the sum of those orders' totals (gross); **refunded** is what was paid back on
///   them (cancellations and refunds); **net revenue** is revenue minus refunded. An order and its
///   refunds belong to the order's own time, so a range's figures never go negative.
package struct SalesFigures: Equatable {
    package var orders: Int64 = 0
    package var revenue: Int64 = 0
    package var refunded: Int64 = 0

    package init(orders: Int64 = 0, revenue: Int64 = 0, refunded: Int64 = 0) {
        self.orders = orders
        self.revenue = revenue
        self.refunded = refunded
    }
    var netRevenue: Int64 { revenue - refunded }

    /// Orders created from `fromSeconds` to `toSeconds` (Unix seconds, inclusive); all orders
    /// when both are nil.
    package static func read(_ db: Connection, fromSeconds: Int64? = nil, toSeconds: Int64? = nil) throws -> SalesFigures {
        // Bounds written as plain comparisons (not `?1 IS NULL OR …`), so that SQLite reads the
        // range from the covering index `orders_sales` (named for SQLite; PostgreSQL's planner
        // takes no hints and finds it itself).
        let table = db.backend == .sqlite ? "orders INDEXED BY orders_sales" : "orders"
        let figures = "SELECT count(*), coalesce(sum(total), 0), coalesce(sum(refunded), 0) FROM " + table
        let row = try db.queryOne(
            figures + " WHERE created_at >= ? AND created_at <= ?",
            [.integer(fromSeconds ?? Int64.min), .integer(toSeconds ?? Int64.max)])
        return SalesFigures(orders: row?[0].int ?? 0, revenue: row?[1].int ?? 0, refunded: row?[2].int ?? 0)
    }
}
