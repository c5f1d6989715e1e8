import Foundation
import JSON
import Store

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
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let component: Calendar.Component
        switch window {
        case .perTransaction, .allTime: return (0, nil)
        case .daily: component = .day
        case .weekly: component = .weekOfYear
        case .monthly: component = .month
        }
        let interval = calendar.dateInterval(of: component, for: now)!
        return (Int64(interval.start.timeIntervalSince1970), Int64(interval.end.timeIntervalSince1970))
    }

    init(row: Row) {
        perTransaction = row["per_transaction"].int
        daily = row["daily"].int
        weekly = row["weekly"].int
        monthly = row["monthly"].int
        allTime = row["all_time"].int
        approvalThreshold = row["approval_threshold"].int
        allowedCategories = row["allowed_categories"].string.map { Set($0.split(separator: " ").map(String.init)) }
        blockedCategories = Set((row["blocked_categories"].string ?? "").split(separator: " ").map(String.init))
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

    /// Reads changes from JSON (admin API, CLI); absent keys keep their value, null clears.
    public func updated(with json: JSON) throws -> SpendControls {
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
        if let allowed = json["allowed_categories"] {
            c.allowedCategories = allowed.isNull ? nil : Set(allowed.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        if let blocked = json["blocked_categories"] {
            c.blockedCategories = Set(blocked.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        return c
    }
}
