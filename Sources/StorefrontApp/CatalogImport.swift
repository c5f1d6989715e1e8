import CatalogFeeds
import Foundation
import JSON
import Store
import StorefrontActions
import StorefrontDomain
import StorefrontStore

/// The feed formats `storefront catalog import` and `POST /admin/api/catalog/import` read.
public enum CatalogFeedFormat: String, CaseIterable, Sendable {
    case storefront, storefrontJSONL = "storefront-jsonl", gmcTSV = "gmc-tsv", gmcXML = "gmc-xml", shopify, acp

    /// The format a file's name suggests (nil: say it with --format).
    public static func guess(_ path: String) -> CatalogFeedFormat? {
        let name = path.lowercased()
        if name.hasSuffix(".jsonl") { return name.contains("acp") ? .acp : .storefrontJSONL }
        if name.hasSuffix(".tsv") || name.hasSuffix(".txt") { return .gmcTSV }
        if name.hasSuffix(".xml") { return .gmcXML }
        if name.hasSuffix("products.json") && !name.hasSuffix("catalog.json") { return .shopify }
        if name.hasSuffix(".json") { return .storefront }
        return nil
    }

    func importer(_ source: ByteSource, options: FeedOptions) -> any FeedImporter {
        switch self {
        case .storefront: StorefrontCatalogImporter(source: source, options: options)
        case .storefrontJSONL: StorefrontJSONLinesImporter(source: source, options: options)
        case .gmcTSV: MerchantCenterTSVImporter(source: source, options: options)
        case .gmcXML: MerchantCenterXMLImporter(source: source, options: options)
        case .shopify: ShopifyImporter(source: source, options: options)
        case .acp: ACPFeedImporter(source: source, options: options)
        }
    }
}

/// What an import did: the change (nil when nothing was written) and every rejected row.
public struct CatalogImportOutcome: Sendable {
    public var report: JSON?
    public var rows = 0
    public var accepted = 0
    /// The first rejections (all are counted; the command writes all of them as they come).
    public var rejections: [CatalogRejection] = []
    public var rejected = 0
    public var applied: Bool { report != nil }

    public var json: JSON {
        [
            "applied": .bool(applied), "rows": .int(Int64(rows)), "accepted": .int(Int64(accepted)),
            "rejected": .int(Int64(rejected)), "change": report ?? .null,
            "rejections": .array(rejections.map(\.json)),
        ]
    }
}

/// Imports a product feed into the store while it is served: read as a stream (never whole in
/// memory), each product checked as the admin API checks one, every valid product written in
/// one transaction (nothing half-applied: a failure part-way leaves the catalog as it was), and
/// every rejected row reported with its field and reason.
public struct CatalogImport {
    public var format: CatalogFeedFormat
    /// Who owns the products (a re-import with `replace` removes that origin's products the feed no
    /// longer has).
    public var origin: String
    public var replace = false
    /// Refuse the whole feed when any row is refused.
    public var strict = false
    /// Check only; write nothing.
    public var dryRun = false
    public var currency = "USD"
    /// The shipping weight of physical products whose feed gives none (nil: they are refused).
    public var defaultWeightGrams: Int64?
    /// How many rejections the outcome keeps (`onRejection` hears of all).
    public var keptRejections = 1000

    public init(format: CatalogFeedFormat, origin: String) {
        self.format = format
        self.origin = origin
    }

    private final class State: @unchecked Sendable {
        var outcome = CatalogImportOutcome()
        var known: Set<String> = []
        var categories: [FeedCategory] = []
        var failure: Error?
    }

    /// `open` gives the feed from its start (a strict import reads it twice: checked, then written).
    public func run(
        _ open: () throws -> ByteSource, services: StoreServices, schemas: SchemaLibrary,
        progress: ImportProgress? = nil, onRejection: @escaping (CatalogRejection) -> Void = { _ in }
    ) throws -> CatalogImportOutcome {
        let changes = try CatalogChanges(manifests: services.manifests, database: services.database, schemas: schemas)
        var options = FeedOptions()
        options.defaultCurrency = currency
        var importer = format.importer(try open(), options: options)
        let state = State()
        state.known = Set(services.catalog.categories.map(\.id))
        let keep = keptRejections
        let defaultWeightGrams = self.defaultWeightGrams
        func reject(_ rejection: CatalogRejection) {
            state.outcome.rejected += 1
            if state.outcome.rejections.count < keep { state.outcome.rejections.append(rejection) }
            onRejection(rejection)
        }
        /// The next product that passes, rejecting the rest as they come.
        let next: () throws -> Product? = {
            while let item = importer.next() {
                state.outcome.rows += 1
                progress?.update(rows: state.outcome.rows, bytesRead: importer.bytesRead)
                switch item {
                case .rejected(let rejection):
                    reject(rejection)
                case .product(var json):
                    if let grams = defaultWeightGrams, json["digital"]?.boolValue != true, json["weight_grams"] == nil,
                        case .object(var fields) = json
                    {
                        fields["weight_grams"] = .int(grams)
                        json = .object(fields)
                    }
                    if importer.categories.count != state.categories.count {
                        state.categories = importer.categories
                        state.known.formUnion(state.categories.map(\.id))
                    }
                    switch changes.check(json, row: state.outcome.rows, knownCategories: state.known) {
                    case .success(let product):
                        state.outcome.accepted += 1
                        return product
                    case .failure(let refused):
                        refused.all.forEach(reject)
                    }
                }
            }
            return nil
        }
        if dryRun || strict {
            // Read it all first: nothing is written when it is only checked, or when one bad row
            // refuses the whole feed.
            while try next() != nil {}
            progress?.finish(rows: state.outcome.rows, bytesRead: importer.bytesRead)
            guard !dryRun, state.outcome.rejected == 0 else { return state.outcome }
            // Strict and clean: read it again to write it.
            return try CatalogImport(copying: self).run(open, services: services, schemas: schemas, progress: nil, onRejection: onRejection)
        }
        let report = try CatalogEditor(database: services.database).importFeed(
            origin: origin, replace: replace, stock: .set,
            categories: { state.categories.map { Category(id: $0.id, name: $0.name) } },
            next: next)
        progress?.finish(rows: state.outcome.rows, bytesRead: importer.bytesRead)
        state.outcome.report = report.json
        return state.outcome
    }

    private init(copying other: CatalogImport) {
        self = other
        strict = false
        dryRun = false
    }
}
