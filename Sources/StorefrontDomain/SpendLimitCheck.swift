import Foundation
import JSON

/// Where a purchase meets the principal's rules: allowed and blocked categories, every limit
/// window (per transaction, daily, weekly, monthly, all-time) and the balance. Checkout calls
/// it inside the writer's transaction, with the wallet read in that transaction.
extension WalletState {
    /// Refuses a purchase of `amount` in `categories` that a control forbids.
    /// `fromBalance`: the wallet pays (its balance must cover the amount); otherwise another
    /// payment handler does, and only the principal's controls apply.
    public func check(amount: Int64, categories: Set<String>, fromBalance: Bool = true) throws {
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
        if fromBalance, amount > balance {
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
}
