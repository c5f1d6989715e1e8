import Foundation
import JSON
import StorefrontDomain
import StorefrontStore

/// What a payment handler is asked to reserve: one checkout's total, for one agent.
public struct PaymentRequest: Sendable {
    public var agentID: String
    public var checkoutID: String
    public var amount: Int64
    public var currency: String
    /// The instrument as the caller sent it (UCP's `payment.instruments[0]`, ACP's
    /// `payment_data`): the handler's own business to read.
    public var instrument: JSON
}

/// What a handler reserved before the purchase's transaction, carried into it and, after it,
/// to `settle` or `void`.
public struct PaymentAuthorization: Sendable, Equatable {
    public var handlerID: String
    /// The processor's reference for the reservation (an authorization id).
    public var reference: String
    public var amount: Int64
    public var currency: String
    public var details: JSON

    public init(handlerID: String, reference: String, amount: Int64, currency: String, details: JSON = [:]) {
        self.handlerID = handlerID
        self.reference = reference
        self.amount = amount
        self.currency = currency
        self.details = details
    }

    var json: JSON {
        [
            "handler_id": .string(handlerID), "reference": .string(reference), "amount": .int(amount), "currency": .string(currency),
            "details": details,
        ]
    }

    init?(json: JSON) {
        guard let handler = json["handler_id"]?.stringValue, let reference = json["reference"]?.stringValue,
            let amount = json["amount"]?.intValue, let currency = json["currency"]?.stringValue
        else { return nil }
        self.init(handlerID: handler, reference: reference, amount: amount, currency: currency, details: json["details"] ?? [:])
    }
}

/// A way a purchase is paid. The agent's wallet is the one this store ships; a handler backed by
/// a payment processor is added by registering it with ``Commerce/paymentHandlers`` — checkout
/// does not change. A purchase runs in two phases around the writer's transaction:
///
/// 1. `authorize`, before the transaction and off the writer (it may wait on a network): reserve
///    the amount. A replayed request (same Idempotency-Key) never reaches it.
/// 2. Inside the transaction the purchase is checked (stock, every spend limit the principal
///    set), the order made and recorded in the ledger (a handler whose money is elsewhere credits
///    what it reserved first, so the wallet's balance does not move while the limits count the
///    purchase), and `capture` records the handler's side in the same transaction.
/// 3. After it: `settle` when the order committed (the processor's capture), else `void` (refused,
///    rolled back, or answered from an earlier request): the reservation is released.
public protocol PaymentHandler: Sendable {
    /// The id instruments name (UCP `handler_id`, ACP `payment_data.handler_id`).
    var id: String { get }
    /// Whether the agent's wallet pays (its balance must cover the purchase). Otherwise the
    /// money is the processor's, and only the principal's limits apply.
    var paysFromWallet: Bool { get }
    /// Reserves the amount; called once per purchase attempt, never on the writer.
    func authorize(_ request: PaymentRequest, completion: @escaping @Sendable (Result<PaymentAuthorization, ActionError>) -> Void)
    /// Records the handler's side of the purchase, inside its transaction (throwing rolls it back).
    func capture(_ authorization: PaymentAuthorization, orderID: String, db: StoreConnection) throws
    /// The order committed: take the money (after the commit, never on the writer). Called once,
    /// in this process: a handler that must not lose a capture to a crash between the commit and
    /// this call records it in `capture` (same transaction) and settles from that record.
    func settle(_ authorization: PaymentAuthorization, orderID: String)
    /// The purchase did not happen: release the reservation.
    func void(_ authorization: PaymentAuthorization)
    /// How UCP lists the handler (see the default below).
    var ucpDescriptor: (name: String, entry: JSON)? { get }
}

extension PaymentHandler {
    /// How UCP's profile and checkout answers list the handler: its reverse-domain name and its
    /// entry (`{id, version, available_instruments, config}`); nil keeps it out of UCP's lists.
    public var ucpDescriptor: (name: String, entry: JSON)? { nil }
}

/// The agent's wallet: nothing to reserve outside (the balance is checked and debited inside the
/// purchase's transaction, where it is authoritative), nothing to settle after.
public struct WalletPaymentHandler: PaymentHandler {
    public static let id = "wallet"
    public var id: String { Self.id }
    public var paysFromWallet: Bool { true }
    public init() {}
    public func authorize(_ request: PaymentRequest, completion: @escaping @Sendable (Result<PaymentAuthorization, ActionError>) -> Void) {
        completion(.success(PaymentAuthorization(handlerID: id, reference: "", amount: request.amount, currency: request.currency)))
    }
    public func capture(_ authorization: PaymentAuthorization, orderID: String, db: StoreConnection) throws {}
    public func settle(_ authorization: PaymentAuthorization, orderID: String) {}
    public func void(_ authorization: PaymentAuthorization) {}
}

/// The payment handlers a store takes, by id.
public struct PaymentHandlers: Sendable {
    private var byID: [String: any PaymentHandler] = [WalletPaymentHandler.id: WalletPaymentHandler()]

    public init() {}

    public var ids: [String] { byID.keys.sorted() }
    /// The handlers beside the wallet that describe themselves to UCP.
    public var ucpDescriptors: [(name: String, entry: JSON)] {
        byID.keys.sorted().compactMap { byID[$0]?.ucpDescriptor }
    }
    public subscript(id: String) -> (any PaymentHandler)? { byID[id] }

    /// Adds (or replaces) a handler.
    public mutating func register(_ handler: any PaymentHandler) { byID[handler.id] = handler }
}
