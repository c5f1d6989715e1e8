import JSON

/// An amount in integer minor units of an ISO 4217 currency. Never a float.
public struct Money: Sendable, Equatable, Hashable {
    public var amount: Int64
    public var currency: String

    public init(amount: Int64, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    public init?(json: JSON?) {
        guard let json, let amount = json["amount"]?.intValue, let currency = json["currency"]?.stringValue else {
            return nil
        }
        self.init(amount: amount, currency: currency)
    }

    public var json: JSON { ["amount": .int(amount), "currency": .string(currency)] }

    /// Digits after the decimal point for the currency (ISO 4217 exponent).
    public var minorUnitDigits: Int {
        switch currency {
        case "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF": return 0
        case "BHD", "KWD", "OMR", "JOD", "TND": return 3
        default: return 2
        }
    }

    /// The amount as a decimal string ("349.00"), as schema.org and people read it.
    public var decimalString: String {
        let digits = minorUnitDigits
        guard digits > 0 else { return String(amount) }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let whole = abs(amount) / scale, fraction = abs(amount) % scale
        let fractionText = String(fraction)
        let padded = String(repeating: "0", count: digits - fractionText.count) + fractionText
        return (amount < 0 ? "-" : "") + "\(whole).\(padded)"
    }

    /// "$349.00"-style text for HTML pages.
    public var displayString: String {
        let symbol = ["USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "JPY": "¥"][currency]
        return symbol.map { $0 + decimalString } ?? "\(decimalString) \(currency)"
    }
}
