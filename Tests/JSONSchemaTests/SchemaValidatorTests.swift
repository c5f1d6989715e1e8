import Foundation
import JSON
import JSONSchema
import Testing

@Suite("JSONSchema validator")
struct SchemaValidatorTests {
    /// An order with line items whose prices share a `$defs` entry, like the project's schemas.
    static let orderSchema: JSON = [
        "type": "object",
        "required": ["items"],
        "additionalProperties": false,
        "properties": [
            "items": ["type": "array", "minItems": 1, "items": ["$ref": "#/$defs/lineItem"]],
            "note": ["type": "string", "maxLength": 5],
        ],
        "$defs": [
            "lineItem": [
                "type": "object",
                "required": ["sku", "price"],
                "properties": ["sku": ["type": "string"], "price": ["$ref": "#/$defs/money"]],
            ],
            "money": [
                "type": "object",
                "properties": ["amount": ["type": "integer", "minimum": 0], "currency": ["enum": ["EUR", "USD"]]],
            ],
        ],
    ]

    static func item(_ amount: JSON) -> JSON {
        ["sku": "tea", "price": ["amount": amount, "currency": "EUR"]]
    }

    @Test("a failing value deep inside arrays and refs is pointed at exactly")
    func deepPointer() throws {
        let schema = try JSONSchema(Self.orderSchema)
        let order: JSON = ["items": [Self.item(100), Self.item(5), Self.item(-3)]]
        let violations = schema.validate(order)
        #expect(
            violations == [
                SchemaViolation(
                    instancePointer: "/items/2/price/amount", keyword: "minimum",
                    schemaPointer: "/$defs/money/properties/amount/minimum",
                    message: "expected a number of at least 0, found -3")
            ])
        #expect(!schema.isValid(order))
        #expect(schema.isValid(["items": [Self.item(0)]]))
    }

    @Test("messages say what was expected and what was found")
    func messages() throws {
        let schema = try JSONSchema(Self.orderSchema)
        let violations = schema.validate([
            "items": [["price": ["amount": "12", "currency": "GBP"]]], "note": "too long", "coupon": "X",
        ])
        let byPointer = Dictionary(grouping: violations, by: \.instancePointer)
        #expect(byPointer["/coupon"]?.first?.message == "property \"coupon\" is not allowed")
        #expect(byPointer["/coupon"]?.first?.keyword == "additionalProperties")
        #expect(byPointer["/items/0"]?.first?.message == "missing required property \"sku\"")
        #expect(byPointer["/items/0/price/amount"]?.first?.message == "expected integer, found string")
        #expect(
            byPointer["/items/0/price/currency"]?.first?.message == "expected one of \"EUR\", \"USD\", found \"GBP\"")
        #expect(byPointer["/note"]?.first?.message == "expected at most 5 characters, found 8")
        #expect(violations.count == 5)
        // Stable order: the same input always produces the same list.
        #expect(schema.validate(["coupon": "X", "note": 1]) == schema.validate(["note": 1, "coupon": "X"]))
    }

    @Test("keys with / and ~ are escaped in instance pointers")
    func pointerEscaping() throws {
        let schema = try JSONSchema(["additionalProperties": ["type": "integer"]])
        let violations = schema.validate(["a/b": "x", "c~d": "y"])
        #expect(violations.map(\.instancePointer) == ["/a~1b", "/c~0d"])
    }

    @Test("format is an annotation unless assertions are switched on")
    func formatAssertion() throws {
        let schema: JSON = [
            "properties": [
                "email": ["format": "email"], "at": ["format": "date-time"], "id": ["format": "uuid"],
                "ip": ["format": "ipv6"], "link": ["format": "uri"], "day": ["format": "date"],
            ]
        ]
        let bad: JSON = [
            "email": "not-an-email", "at": "2024-02-30T10:00:00Z", "id": "1234", "ip": "1::2::3",
            "link": "no scheme", "day": "2023-02-29",
        ]
        let good: JSON = [
            "email": "agent@example.com", "at": "2024-02-29T23:59:60-00:00", "day": "2024-02-29",
            "id": "2eb8aa08-aa98-11ea-b4aa-73b441d16380", "ip": "::ffff:192.168.0.1",
            "link": "https://example.com/a?b#c",
        ]
        #expect(try JSONSchema(schema).isValid(bad))
        let asserting = try JSONSchema(schema, assertFormats: true)
        #expect(asserting.isValid(good))
        let violations = asserting.validate(bad)
        #expect(violations.map(\.instancePointer) == ["/at", "/day", "/email", "/id", "/ip", "/link"])
        #expect(violations.allSatisfy { $0.keyword == "format" })
        #expect(violations.first?.message == "expected a valid date-time, found \"2024-02-30T10:00:00Z\"")
        // Unknown formats never fail.
        #expect(try JSONSchema(["format": "color"], assertFormats: true).isValid("not a color"))
    }

    @Test("oneOf explains the branch the value was closest to")
    func oneOfExplanation() throws {
        let schema = try JSONSchema([
            "oneOf": [
                [
                    "properties": ["kind": ["const": "card"], "number": ["type": "string"]],
                    "required": ["kind", "number"],
                ],
                ["properties": ["kind": ["const": "wallet"]], "required": ["kind", "wallet_id"]],
            ]
        ])
        let violations = schema.validate(["kind": "wallet"])
        #expect(violations.map(\.message) == ["missing required property \"wallet_id\""])
        let unknown = schema.validate(["kind": "cash"])
        #expect(unknown.count == 1)
        #expect(unknown.first?.keyword == "oneOf")
    }

    @Test("multipleOf is decided in decimal and survives huge numbers")
    func multipleOf() throws {
        let cents = try JSONSchema(["multipleOf": 0.0001])
        #expect(cents.isValid(0.0075))
        #expect(!cents.isValid(0.00751))
        #expect(try JSONSchema(["multipleOf": 0.01]).isValid(19.99))
        #expect(!(try JSONSchema(["multipleOf": 0.123456789]).isValid(1e308)))
        #expect(try JSONSchema(["multipleOf": 0.5]).isValid(1e308))
    }

    @Test("ECMA-262 pattern semantics: ASCII \\d, $ only at the very end, unanchored search")
    func patterns() throws {
        let digits = try JSONSchema(["pattern": "^\\d+$"])
        #expect(digits.isValid("123"))
        #expect(!digits.isValid("١٢٣"))
        #expect(!digits.isValid("123\n"))
        #expect(try JSONSchema(["pattern": "b"]).isValid("abc"))
        #expect(try JSONSchema(["pattern": "^[[a]+$"]).isValid("[a["))
    }

    @Test("malformed schemas are refused with a code and a pointer")
    func invalidSchemas() {
        func code(_ schema: JSON) -> JSONSchemaError.Code? {
            do {
                _ = try JSONSchema(schema)
                return nil
            } catch let error as JSONSchemaError {
                return error.code
            } catch {
                return nil
            }
        }
        #expect(code(["minLength": -1]) == .invalidKeyword)
        #expect(code(["type": "text"]) == .invalidKeyword)
        #expect(code(["multipleOf": 0]) == .invalidKeyword)
        #expect(code(["multipleOf": -0.5]) == .invalidKeyword)
        #expect(code(["pattern": "(unclosed"]) == .invalidPattern)
        #expect(code(["$ref": "#/$defs/missing"]) == .unresolvableReference)
        #expect(code(["$ref": "https://example.com/other.json"]) == .unresolvableReference)
        #expect(code(["$defs": ["a": ["$anchor": "x"], "b": ["$anchor": "x"]]]) == .invalidIdentifier)
        #expect(code(["$defs": ["broken": ["maxItems": "ten"]]]) == .invalidKeyword)
        do {
            _ = try JSONSchema(["properties": ["price": ["minimum": "0"]]])
            Issue.record("expected an error")
        } catch let error as JSONSchemaError {
            #expect(error.schemaPointer == "/properties/price/minimum")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("a resolver supplies documents for refs outside the schema")
    func resolver() throws {
        let money: JSON = ["$id": "https://storefront.example/schemas/money.json", "type": "integer", "minimum": 0]
        var asked: [String] = []
        let schema = try JSONSchema(
            ["properties": ["total": ["$ref": "money.json"]]],
            baseURI: "https://storefront.example/schemas/order.json",
            resolver: { uri in
                asked.append(uri)
                return uri == "https://storefront.example/schemas/money.json" ? money : nil
            })
        #expect(asked == ["https://storefront.example/schemas/money.json"])
        let violations = schema.validate(["total": -1])
        #expect(violations.first?.schemaPointer == "https://storefront.example/schemas/money.json#/minimum")
        #expect(violations.first?.instancePointer == "/total")
    }

    @Test("a schema that refers to itself without progress fails instead of looping")
    func selfReference() throws {
        let schema = try JSONSchema([
            "$defs": ["a": ["$ref": "#/$defs/b"], "b": ["$ref": "#/$defs/a"]], "$ref": "#/$defs/a",
        ])
        #expect(!schema.isValid(1))
        #expect(schema.validate(1).count == 1)
        // Recursion that consumes the instance is fine.
        let tree = try JSONSchema(["type": "array", "items": ["$ref": "#"]])
        #expect(tree.isValid([[[], [[]]]]))
        #expect(tree.validate([[[1]]]).first?.instancePointer == "/0/0/0")
    }

    @Test("one compiled schema validates from many threads at once")
    func concurrentValidation() throws {
        let schema = try JSONSchema(
            [
                "type": "object",
                "properties": ["sku": ["type": "string", "pattern": "^[a-z]+-[0-9]+$"], "qty": ["type": "integer"]],
                "unevaluatedProperties": false,
            ], assertFormats: true)
        let good: JSON = ["sku": "tea-1", "qty": 2]
        let bad: JSON = ["sku": "TEA", "qty": 2, "x": 1]
        let expected = schema.validate(bad)
        let mismatches = LockedBox(0)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            for _ in 0..<50 {
                let ok = i % 2 == 0 ? schema.isValid(good) : schema.validate(bad) == expected
                if !ok { mismatches.withLock { $0 += 1 } }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
        #expect(expected.count == 2)
    }
}

/// A tiny lock-protected box for counting across threads in a test.
private final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
