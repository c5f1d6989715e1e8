/// The six stages of an agent's buying journey; every route and action belongs to one.
public enum JourneyStage: String, Sendable, CaseIterable, Codable {
    case finding
    case evaluating
    case trustChecking = "trust_checking"
    case transacting
    case using
    case recommending

    public var title: String {
        switch self {
        case .finding: return "Finding"
        case .evaluating: return "Evaluating"
        case .trustChecking: return "Trust-checking"
        case .transacting: return "Transacting"
        case .using: return "Using"
        case .recommending: return "Recommending"
        }
    }
}
