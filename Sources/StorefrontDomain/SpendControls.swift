import Foundation
import JSON

/// The principal's rules for an agent's wallet, modelled on card-issuing controls.
public struct SpendControls: Sendable, Equatable {
    public var perTransaction: Int64?
    public var daily: Int64?
    public var weekly: Int64?
    public var monthly: Int64?
    public var allTime: Int64?
    /// Purchases above this wait for the principal's approval.
    public var approvalThreshold: Int64?
    /// When set, only these categories may be bought.
    public var allowedCategories: Set<String>?
    public var blockedCategories: Set<String> = []

    public init() {}

    /// The limit windows in the order they are checked.
    public enum Window: String, CaseIterable, Sendable {
        case perTransaction = "per_transaction", daily, weekly, monthly, allTime = "all_time"
    }

    public func limit(_ window: Window) -> Int64? {
        switch window {
        case .perTransaction: return perTransaction
        case .daily: return daily
        case .weekly: return weekly
        case .monthly: return monthly
        case .allTime: return allTime
        }
    }

    /// When a calendar window (UTC) began and ends: today, this ISO week, this month.
    public static func bounds(_ window: Window, now: Date) -> (start: Int64, end: Int64?) {
        bounds(window, at: Int64(now.timeIntervalSince1970.rounded(.down)))
    }

    /// UTC calendar periods by arithmetic (the ledger_totals triggers compute the same starts in
    /// SQL): days from midnight, ISO weeks from Monday, months from the 1st.
    public static func bounds(_ window: Window, at t: Int64) -> (start: Int64, end: Int64?) {
        let day: Int64 = 86_400
        let days = t >= 0 ? t / day : (t - day + 1) / day
        switch window {
        case .perTransaction, .allTime: return (0, nil)
        case .daily: return (days * day, (days + 1) * day)
        case .weekly:
            let monday = days - ((days + 3) % 7 + 7) % 7
            return (monday * day, (monday + 7) * day)
        case .monthly:
            let (year, month, _) = civil(fromDays: days)
            let next = month == 12 ? (year + 1, Int64(1)) : (year, month + 1)
            return (daysFromCivil(year, month, 1) * day, daysFromCivil(next.0, next.1, 1) * day)
        }
    }

    /// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y - 1 : y
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse: the year, month and day of a day number.
    static func civil(fromDays z: Int64) -> (Int64, Int64, Int64) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public var json: JSON {
        [
            "per_transaction": perTransaction.map(JSON.int) ?? .null, "daily": daily.map(JSON.int) ?? .null,
            "weekly": weekly.map(JSON.int) ?? .null, "monthly": monthly.map(JSON.int) ?? .null,
            "all_time": allTime.map(JSON.int) ?? .null, "approval_threshold": approvalThreshold.map(JSON.int) ?? .null,
            "allowed_categories": allowedCategories.map { .array($0.sorted().map(JSON.string)) } ?? .null,
            "blocked_categories": .array(blockedCategories.sorted().map(JSON.string)),
        ]
    }

    /// The keys `updated(with:)` reads.
    public static let keys: Set<String> = [
        "per_transaction", "daily", "weekly", "monthly", "all_time", "approval_threshold", "allowed_categories",
        "blocked_categories",
    ]

    /// Reads changes from JSON (admin API, CLI); absent keys keep their value, null clears.
    /// Anything else is refused, so a typo or a wrong type never reads as "no change".
    public func updated(with json: JSON) throws -> SpendControls {
        guard let object = json.objectValue else {
            throw ActionError.invalid("invalid_body", "Send the limits as a JSON object.")
        }
        if let unknown = Set(object.keys).subtracting(Self.keys).sorted().first {
            throw ActionError.invalid(
                "unknown_field", "\(unknown) is not a spend control; known: \(Self.keys.sorted().joined(separator: ", ")).",
                param: unknown)
        }
        func categories(_ key: String) throws -> Set<String>? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw ActionError.invalid("invalid_categories", "\(key) must be an array of category names or null.", param: key)
            }
            return Set(list.compactMap(\.stringValue))
        }
        var c = self
        func amount(_ key: String, _ current: Int64?) throws -> Int64? {
            guard let value = json[key] else { return current }
            if value.isNull { return nil }
            guard let v = value.intValue, v >= 0 else {
                throw ActionError.invalid("invalid_limit", "\(key) must be a non-negative integer in minor units or null.", param: key)
            }
            return v
        }
        c.perTransaction = try amount("per_transaction", c.perTransaction)
        c.daily = try amount("daily", c.daily)
        c.weekly = try amount("weekly", c.weekly)
        c.monthly = try amount("monthly", c.monthly)
        c.allTime = try amount("all_time", c.allTime)
        c.approvalThreshold = try amount("approval_threshold", c.approvalThreshold)
        if json["allowed_categories"] != nil { c.allowedCategories = try categories("allowed_categories") }
        if json["blocked_categories"] != nil { c.blockedCategories = try categories("blocked_categories") ?? [] }
        return c
    }
}
