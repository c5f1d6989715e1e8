import JSON

/// A cart: items an agent is gathering, priced, before it checks out. Its SQL is in `CartStore`.
public struct Cart: Sendable {
    public enum Status: String, Sendable {
        case active
        case checkedOut = "checked_out"
        case canceled
    }

    public var id: String
    public var agentID: String
    public var status: Status
    /// The priced items: `line_items`, `totals`, `currency`, `shipping_option`.
    public var items: JSON
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, agentID: String, status: Status, items: JSON, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.agentID = agentID
        self.status = status
        self.items = items
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The cart as the wire shows it.
    public var json: JSON {
        [
            "id": .string(id), "status": .string(status.rawValue),
            "items": items["line_items"] ?? [], "totals": items["totals"] ?? [:],
            "currency": items["currency"] ?? "USD",
            "created_at": .string(isoTime(createdAt)), "updated_at": .string(isoTime(updatedAt)),
        ]
    }
}

/// A checkout: the items an agent asked for, priced into a quote, and where it stands (open,
/// waiting for the principal, completed by an order, canceled). Its SQL is in `CheckoutStore`.
public struct Checkout: Sendable {
    public enum Status: String, Sendable {
        /// Cannot complete yet: its messages say why (stock).
        case incomplete
        case readyForComplete = "ready_for_complete"
        /// Above the approval threshold: the principal decides; the money is held meanwhile.
        case pendingApproval = "pending_approval"
        case completed
        case canceled

        /// Items and shipping can still change.
        public var isOpen: Bool { self == .incomplete || self == .readyForComplete }
    }

    public var id: String
    public var agentID: String
    public var cartID: String?
    public var status: Status
    /// The items as asked for: product, variant, quantity.
    public var items: JSON
    /// The priced quote: `line_items`, `totals`, `currency`, `shipping_option`, `messages`.
    public var quote: JSON
    /// The quote's stored bytes (an order keeps them as they are).
    public var quoteText: String
    public var total: Int64
    public var currency: String
    public var orderID: String?
    public var approvalID: String?
    public var referralCode: String?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, agentID: String, cartID: String?, status: Status, items: JSON, quote: JSON, quoteText: String? = nil,
        total: Int64, currency: String, orderID: String? = nil, approvalID: String? = nil, referralCode: String? = nil,
        createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.agentID = agentID
        self.cartID = cartID
        self.status = status
        self.items = items
        self.quote = quote
        self.quoteText = quoteText ?? quote.compactString
        self.total = total
        self.currency = currency
        self.orderID = orderID
        self.approvalID = approvalID
        self.referralCode = referralCode
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The quote's line items.
    public var lineItems: [JSON] { quote["line_items"]?.arrayValue ?? [] }

    /// The checkout as the wire shows it, with its approval when it has one.
    public func json(approval: Approval?) -> JSON {
        [
            "id": .string(id), "status": .string(status.rawValue),
            "cart_id": JSON(cartID), "line_items": quote["line_items"] ?? [],
            "totals": quote["totals"] ?? [:], "currency": .string(currency),
            "shipping_option": quote["shipping_option"] ?? .null, "order_id": JSON(orderID),
            "approval": approval?.json ?? .null, "messages": quote["messages"] ?? [],
            "created_at": .string(isoTime(createdAt)),
            "updated_at": .string(isoTime(updatedAt)),
        ]
    }
}

/// A purchase above the approval threshold, waiting for (or decided by) the agent's principal.
/// Its SQL is in `ApprovalStore`.
public struct Approval: Sendable {
    public enum Status: String, Sendable {
        case pending, approved, denied, expired, canceled
    }

    public var id: String
    public var checkoutID: String
    public var agentID: String
    /// The amount held from the wallet while the principal decides.
    public var amount: Int64
    public var currency: String
    public var status: Status
    public var createdAt: Int64
    public var expiresAt: Int64
    public var decidedAt: Int64?

    public init(
        id: String, checkoutID: String, agentID: String, amount: Int64, currency: String, status: Status, createdAt: Int64,
        expiresAt: Int64, decidedAt: Int64? = nil
    ) {
        self.id = id
        self.checkoutID = checkoutID
        self.agentID = agentID
        self.amount = amount
        self.currency = currency
        self.status = status
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.decidedAt = decidedAt
    }

    /// The approval as a checkout shows it.
    public var json: JSON {
        [
            "id": .string(id), "status": .string(status.rawValue),
            "amount": Money(amount: amount, currency: currency).json,
            "expires_at": .string(isoTime(expiresAt)),
        ]
    }
}
