import JSON

/// Number comparisons for `minimum`, `maximum` and friends that stay exact when an `Int64`
/// meets a `Double` (converting a large integer to `Double` would round it).
enum SchemaNumber {
    /// -1, 0 or 1 as `a` is below, equal to or above `b`; nil unless both are numbers.
    static func compare(_ a: JSON, _ b: JSON) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.int(let x), .double(let y)): return compare(x, y)
        case (.double(let x), .int(let y)): return compare(y, x).map { -$0 }
        default: return nil
        }
    }

    private static func compare(_ x: Int64, _ y: Double) -> Int? {
        if y.isNaN { return nil }
        // 2^63 is exactly representable; every Int64 is below it and at or above -2^63.
        if y >= 9_223_372_036_854_775_808.0 { return -1 }
        if y < -9_223_372_036_854_775_808.0 { return 1 }
        let whole = y.rounded(.down)
        let w = Int64(whole)
        if x < w { return -1 }
        if x > w { return 1 }
        return whole == y ? 0 : -1
    }

    /// How a number is shown in a message: as the schema or request most likely spelled it.
    static func describe(_ value: JSON) -> String {
        switch value {
        case .int(let i): return String(i)
        case .double(let d):
            if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        default: return "a \(value.typeName)"
        }
    }
}

/// A number as decimal digits times a power of ten, so `multipleOf` is decided exactly in
/// decimal, the way the JSON text was written: 0.0075 is a multiple of 0.0001 even though neither
/// is exactly representable in binary, and 1e308 against 0.123456789 neither overflows nor crashes.
struct SchemaDecimal {
    /// Significant digits, trailing zeros moved into ``exponent``.
    var mantissa: UInt64
    var exponent: Int

    init(_ value: JSON) {
        switch value {
        case .int(let i): self.init(mantissa: i.magnitude, exponent: 0)
        case .double(let d): self.init(d)
        default: self.init(mantissa: 0, exponent: 0)
        }
    }

    init(mantissa: UInt64, exponent: Int) {
        var m = mantissa
        var e = exponent
        while m != 0 && m % 10 == 0 {
            m /= 10
            e += 1
        }
        self.mantissa = m
        self.exponent = m == 0 ? 0 : e
    }

    /// From the shortest decimal text that round-trips the double (Swift's `description`), which
    /// for any JSON literal of up to 15 significant digits is that literal.
    init(_ value: Double) {
        let text = String(value.magnitude)
        var mantissa: UInt64 = 0
        var exponent = 0
        var seenPoint = false
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c == "." {
                seenPoint = true
            } else if let digit = c.wholeNumberValue, c.isASCII {
                // 17 significant digits always fit; more cannot occur in a shortest form.
                mantissa = mantissa &* 10 &+ UInt64(digit)
                if seenPoint { exponent -= 1 }
            } else if c == "e" || c == "E" {
                exponent += Int(text[text.index(after: index)...]) ?? 0
                break
            }
            index = text.index(after: index)
        }
        self.init(mantissa: mantissa, exponent: exponent)
    }

    /// Whether `self` is an integer multiple of `divisor` (which must be non-zero).
    func isMultiple(of divisor: SchemaDecimal) -> Bool {
        if mantissa == 0 { return true }
        guard divisor.mantissa != 0 else { return false }
        let shift = exponent - divisor.exponent
        if shift >= 0 {
            // mantissa * 10^shift must be divisible by the divisor's mantissa.
            let m = divisor.mantissa
            let power = Self.powerOfTen(shift, modulo: m)
            return Self.multiply(mantissa % m, power, modulo: m) == 0
        }
        // mantissa must be divisible by divisor.mantissa * 10^-shift; beyond UInt64 it cannot be.
        var product = divisor.mantissa
        for _ in 0..<(-shift) {
            let (next, overflow) = product.multipliedReportingOverflow(by: 10)
            if overflow { return false }
            product = next
        }
        return mantissa % product == 0
    }

    private static func multiply(_ a: UInt64, _ b: UInt64, modulo m: UInt64) -> UInt64 {
        let wide = a.multipliedFullWidth(by: b)
        return m.dividingFullWidth((high: wide.high, low: wide.low)).remainder
    }

    private static func powerOfTen(_ exponent: Int, modulo m: UInt64) -> UInt64 {
        var result: UInt64 = 1 % m
        var base: UInt64 = 10 % m
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = multiply(result, base, modulo: m) }
            base = multiply(base, base, modulo: m)
            e >>= 1
        }
        return result
    }
}
