import StorefrontActions
import StorefrontDomain

/// What kind of work a request asks for; each class has its own buckets, so a flood of reads
/// cannot spend an agent's checkout budget and a flood of checkouts is refused even when reads
/// would pass.
public enum RateClass: Int, CaseIterable, Sendable, Hashable {
    /// Read-only actions (annotated `readOnlyHint`), documents, catalog pages, streams.
    case reads
    /// Mutating actions that are not checkout: carts, orders, notes, feedback, the inbox.
    case writes
    /// `POST /agents/register`: always keyed by client address.
    case registration
    /// The checkout actions: mutating actions that need the `checkout:write` scope
    /// (create, update, complete and cancel a checkout).
    case checkout

    /// The class's name in options, documents, headers and metrics.
    public var name: String {
        switch self {
        case .reads: return "reads"
        case .writes: return "writes"
        case .registration: return "registration"
        case .checkout: return "checkout"
        }
    }

    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// The class of an action, from the registry's metadata: read-only annotation → reads;
    /// a mutating action with the checkout scope → checkout; any other mutating action → writes.
    public static func of(_ action: Action) -> RateClass {
        if !action.isMutating && action.annotations.readOnly { return .reads }
        if action.scope == "checkout:write" { return .checkout }
        return action.isMutating ? .writes : .reads
    }
}

/// Whose bucket a request spends: a verified agent's, or its client address's.
public enum RateCaller: Int, CaseIterable, Sendable, Hashable {
    case agent
    case anonymous

    public var name: String { self == .agent ? "agent" : "anonymous" }
}
