import JSON
import StorefrontDomain

/// The store's own `catalog.json`, streamed: its `categories` and `products` arrays (in either
/// order) element by element, each product checked as the store would load it.
public final class StorefrontCatalogImporter: FeedImporter {
    private let stream: JSONArrayStream
    private let checks = FeedChecks()
    private var finished = false

    public init(source: ByteSource, options: FeedOptions = FeedOptions()) {
        stream = JSONArrayStream(source: source, members: ["categories", "products"], maxElementBytes: options.maxRowBytes)
    }

    public var categories: [FeedCategory] { checks.categories }
    public var bytesRead: Int64 { stream.bytesRead }
    public var totalBytes: Int64? { stream.totalBytes }

    public func next() -> FeedItem? {
        while !finished {
            let element: JSONArrayStream.Element?
            do { element = try stream.next() } catch {
                finished = true
                return .rejected(FeedRejection(row: 0, id: nil, field: "feed", reason: "\(error)"))
            }
            guard let element else {
                finished = true
                return nil
            }
            let parsed = parseElement(element.bytes, row: element.index)
            if element.member == "categories" {
                // A category is declared, not imported: a bad one is skipped with a rejection.
                guard case .success(let json) = parsed else { if case .failure(let r) = parsed { return .rejected(r) }; continue }
                guard let id = json["id"]?.stringValue, let slug = try? checks.slug(id) else {
                    return .rejected(FeedRejection(row: element.index, id: nil, field: "categories.id", reason: "missing"))
                }
                checks.record(FeedCategory(id: slug, name: json["name"]?.stringValue ?? id))
                continue
            }
            switch parsed {
            case .failure(let rejection): return .rejected(rejection)
            case .success(let json): return storeProduct(json, row: element.index, checks: checks, recordCategory: false)
            }
        }
        return nil
    }
}

/// The store's products as JSON Lines: one `catalog.json` product object per line.
public final class StorefrontJSONLinesImporter: FeedImporter {
    private var lines: LineReader
    private let checks = FeedChecks()
    private var finished = false

    public init(source: ByteSource, options: FeedOptions = FeedOptions()) {
        lines = LineReader(source: source, maxBytes: options.maxRowBytes)
    }

    public var categories: [FeedCategory] { checks.categories }
    public var bytesRead: Int64 { lines.source.bytesRead }
    public var totalBytes: Int64? { lines.source.totalBytes }

    public func next() -> FeedItem? {
        while !finished {
            guard let item = nextJSONLine(&lines, finished: &finished) else { continue }
            switch item {
            case .failure(let rejection): return .rejected(rejection)
            case .success(let (json, row)): return storeProduct(json, row: row, checks: checks, recordCategory: true)
            }
        }
        return nil
    }
}

/// The next non-blank line of a JSON Lines file as JSON (nil for a blank line), or why not.
func nextJSONLine(_ lines: inout LineReader, finished: inout Bool) -> Result<(JSON, Int), FeedRejection>? {
    let line: LineReader.Line?
    do { line = try lines.next() } catch {
        finished = true
        return .failure(FeedRejection(row: lines.lineNumber + 1, id: nil, field: "feed", reason: "\(error)"))
    }
    switch line {
    case nil:
        finished = true
        return nil
    case .tooLong(let size)?:
        return .failure(FeedRejection(row: lines.lineNumber, id: nil, field: "line", reason: "\(size) bytes, more than the limit of \(lines.maxBytes)"))
    case .text(let bytes)?:
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        return parseElement(.success(bytes), row: lines.lineNumber).map { ($0, lines.lineNumber) }
    }
}

/// An element's bytes as a JSON object, or the rejection of its row.
func parseElement(_ bytes: Result<[UInt8], JSONStreamError>, row: Int) -> Result<JSON, FeedRejection> {
    switch bytes {
    case .failure(let error): return .failure(FeedRejection(row: row, id: nil, field: "row", reason: error.message))
    case .success(let bytes):
        do {
            let json = try JSON.parse(bytes: bytes)
            guard json.objectValue != nil else { return .failure(FeedRejection(row: row, id: nil, field: "row", reason: "not a JSON object")) }
            return .success(json)
        } catch {
            return .failure(FeedRejection(row: row, id: nil, field: "row", reason: "not JSON: \(error)"))
        }
    }
}

/// A product in the store's shape checked as `storefront validate` would for one product (ids
/// slugs and unique, a price in a real currency shared by the feed, stock never negative),
/// with ids that are not slugs made slugs.
func storeProduct(_ json: JSON, row: Int, checks: FeedChecks, recordCategory: Bool) -> FeedItem {
    let rawID = json["id"]?.stringValue
    do throws(FieldError) {
        guard var fields = json.objectValue else { throw FieldError("row", "not a JSON object") }
        let id = try checks.slug(rawID)
        try checks.checkNewProduct(id)
        fields["id"] = .string(id)
        guard json["name"]?.stringValue?.isEmpty == false else { throw FieldError("name", "missing") }
        let price = try storeMoney(json["price"], field: "price", checks: checks)
        guard let inventory = json["inventory"]?.intValue, inventory >= 0 else {
            throw FieldError("inventory", json["inventory"] == nil ? "missing" : "not a whole number of at least 0")
        }
        let category = try checks.slug(json["category"]?.stringValue, field: "category")
        fields["category"] = .string(category)
        if recordCategory { checks.record(FeedCategory(id: category, name: json["category"]?.stringValue ?? category)) }
        var variantIDs: [String] = []
        if let variants = json["variants"] {
            guard let list = variants.arrayValue else { throw FieldError("variants", "not an array") }
            fields["variants"] = .array(
                try list.enumerated().map { (i, v) throws(FieldError) -> JSON in
                    guard var o = v.objectValue else { throw FieldError("variants[\(i)]", "not an object") }
                    let vid = try checks.slug(v["id"]?.stringValue, field: "variants[\(i)].id")
                    try checks.checkNewVariant(vid)
                    guard !variantIDs.contains(vid) else { throw FieldError("variants[\(i)].id", "duplicate variant id \(vid)") }
                    variantIDs.append(vid)
                    o["id"] = .string(vid)
                    if v["price"] != nil { _ = try storeMoney(v["price"], field: "variants[\(i)].price", checks: checks) }
                    guard let stock = v["inventory"]?.intValue, stock >= 0 else {
                        throw FieldError("variants[\(i)].inventory", "missing or negative")
                    }
                    return .object(o)
                })
        }
        checks.adopt(currency: price.currency)
        checks.claim(product: id, variants: variantIDs)
        return .product(.object(fields))
    } catch {
        return .rejected(FeedRejection(row: row, id: rawID, field: error.field, reason: error.reason))
    }
}

private func storeMoney(_ json: JSON?, field: String, checks: FeedChecks) throws(FieldError) -> Money {
    guard let json else { throw FieldError(field, "missing") }
    guard let money = Money(json: json) else { throw FieldError(field, "\(quoted(json.compactString)) is not {amount, currency}") }
    guard money.amount >= 0 else { throw FieldError(field, "negative amount") }
    _ = try currencyCode(money.currency, field: field)
    try checks.checkCurrency(money.currency, field: field)
    return money
}
