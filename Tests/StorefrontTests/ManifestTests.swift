import Foundation
import JSON
@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("Loading a store's manifests")
struct ManifestTests {
    @Test("the demo store loads and is consistent")
    func demo() throws {
        let store = try Fixtures.demoStore()
        #expect(store.catalog.products.count >= 40)
        #expect(Set(store.catalog.products.map(\.category)).count >= 5)
        #expect(store.catalog.products.contains { !$0.variants.isEmpty })
        #expect(store.catalog.products.contains { !$0.inStock })
    }

    @Test("a wrong type is reported with the file, the JSON Pointer and what was expected")
    func wrongType() throws {
        let folder = try Fixtures.brokenCopy("catalog.json") { json in
            var products = json["products"]!.arrayValue!
            var first = products[3].objectValue!
            first["price"] = ["amount": 12.5, "currency": "USD"]
            products[3] = .object(first)
            json["products"] = .array(products)
        }
        do {
            _ = try StoreManifests.load(from: folder, schemas: Fixtures.schemas)
            Issue.record("a float price was accepted")
        } catch let error as ManifestValidationError {
            let problem = try #require(error.problems.first)
            #expect(problem.file == "catalog.json")
            #expect(problem.pointer == "/products/3/price/amount")
            #expect(error.description.contains("catalog.json at /products/3/price/amount"))
        }
    }

    @Test("a product in an undeclared category is refused")
    func unknownCategory() throws {
        let folder = try Fixtures.brokenCopy("catalog.json") { json in
            var products = json["products"]!.arrayValue!
            var first = products[0].objectValue!
            first["category"] = "kayaks"
            products[0] = .object(first)
            json["products"] = .array(products)
        }
        #expect {
            try StoreManifests.load(from: folder, schemas: Fixtures.schemas)
        } throws: { error in
            let problems = (error as? ManifestValidationError)?.problems ?? []
            return problems.contains { $0.pointer == "/products/0/category" && $0.message.contains("kayaks") }
        }
    }

    @Test("a missing file and invalid JSON are named")
    func missingAndInvalid() throws {
        let folder = try Fixtures.brokenCopy("store.json") { _ in }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("policies.json"))
        try Data("{\"name\": ".utf8).write(to: folder.appendingPathComponent("pricing.json"))
        #expect {
            try StoreManifests.load(from: folder, schemas: Fixtures.schemas)
        } throws: { error in
            let problems = (error as? ManifestValidationError)?.problems ?? []
            return problems.contains { $0.file == "policies.json" && $0.message.contains("missing") }
                && problems.contains { $0.file == "pricing.json" && $0.message.contains("not valid JSON") }
        }
    }

    @Test("a pricing plan for a product that does not exist is refused")
    func danglingPlan() throws {
        let folder = try Fixtures.brokenCopy("pricing.json") { json in
            var plans = json["plans"]!.arrayValue!
            var plan = plans[0].objectValue!
            plan["product_id"] = "no-such-product"
            plans[0] = .object(plan)
            json["plans"] = .array(plans)
        }
        #expect(throws: ManifestValidationError.self) { try StoreManifests.load(from: folder, schemas: Fixtures.schemas) }
    }
}

@Suite("Money")
struct MoneyTests {
    @Test(
        "minor units print as decimals for the currency",
        arguments: [
            (Money(amount: 34900, currency: "USD"), "349.00"), (Money(amount: 5, currency: "USD"), "0.05"),
            (Money(amount: 1500, currency: "JPY"), "1500"), (Money(amount: 1234, currency: "KWD"), "1.234"),
            (Money(amount: -250, currency: "EUR"), "-2.50"),
        ])
    func decimals(money: Money, text: String) {
        #expect(money.decimalString == text)
    }
}
