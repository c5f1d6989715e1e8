import Foundation
import JSON

/// An order: what an agent bought (the checkout's quote it was placed from), what it cost, what
/// was refunded, and the trail entry of its debit. Its SQL is in `OrderStore`.
public struct Order: Sendable, Equatable {
    public var id: String
    public var agentID: String
    public var checkoutID: String
    /// confirmed, canceled, partially_refunded, refunded.
    public var status: String
    /// The checkout's quote: line items, totals, shipping.
    public var items: JSON
    public var total: Int64
    public var refunded: Int64
    public var currency: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var referralCode: String?
    /// The `wallet.debit` trail entry's seq (what a receipt names); nil for orders placed
    /// before receipts existed.
    public var trailSeq: Int64?

    public init(
        id: String, agentID: String, checkoutID: String, status: String, items: JSON, total: Int64, refunded: Int64 = 0,
        currency: String, createdAt: Int64, updatedAt: Int64, referralCode: String? = nil, trailSeq: Int64? = nil
    ) {
        self.id = id
        self.agentID = agentID
        self.checkoutID = checkoutID
        self.status = status
        self.items = items
        self.total = total
        self.refunded = refunded
        self.currency = currency
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.referralCode = referralCode
        self.trailSeq = trailSeq
    }

    /// What can still be refunded.
    public var refundable: Int64 { total - refunded }

    /// The items' line items.
    public var lineItems: [JSON] { items["line_items"]?.arrayValue ?? [] }

    /// When the refund window of `days` closes (Unix seconds).
    public func refundWindowEnds(days: Int64) -> Int64 { createdAt + days * 86400 }

    /// The order as the wire shows it.
    public func json(refundWindowDays: Int64) -> JSON {
        [
            "id": .string(id), "status": .string(status), "checkout_id": .string(checkoutID),
            "line_items": items["line_items"] ?? [], "totals": items["totals"] ?? [:],
            "refunded": Money(amount: refunded, currency: currency).json, "currency": .string(currency),
            "created_at": .string(Timestamp.iso8601(seconds: createdAt)),
            "refund_window_ends_at": .string(Timestamp.iso8601(seconds: refundWindowEnds(days: refundWindowDays))),
            "referral_code": JSON(referralCode),
        ]
    }
}
