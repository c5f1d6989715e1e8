import ArgumentParser
import CatalogFeeds
import Foundation
import JSON
import StorefrontActions
import StorefrontApp
import StorefrontDomain

/// The catalog in the store: feeds in and out, while gateways serve it.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Import product feeds into the store and export the catalog as feeds.",
        subcommands: [Import.self, Export.self, Status.self, SetStock.self, Delete.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a product feed: Storefront catalog.json or JSON Lines, Google Merchant Center (TSV or XML), Shopify products.json, or an ACP products.jsonl.",
            discussion: """
                The feed is read as a stream and each product checked against catalog.json's product schema, the \
                store's currencies and categories. Valid products are written in one transaction (a failure \
                part-way changes nothing); every rejected row is printed with its row, field and reason (and \
                written to --rejections as JSON Lines). Products the feed names are inserted or replaced, with \
                the stock it declares; --replace also removes products this origin imported before and the \
                feed no longer has. Gateways on the store follow within a second; agents watching a changed \
                product hear of it.
                """)

        @Argument(help: "The feed file ('-' reads standard input).")
        var file: String

        @Option(help: "storefront, storefront-jsonl, gmc-tsv, gmc-xml, shopify or acp (default: from the file name).")
        var format: String?

        @Option(help: "Who owns these products (default: the format); --replace removes only this origin's products.")
        var origin: String?

        @Flag(help: "Remove products of this origin that the feed no longer has.")
        var replace = false

        @Flag(help: "Refuse the whole feed if any row is refused (it is read twice).")
        var strict = false

        @Flag(help: "Check the feed only; write nothing.")
        var dryRun = false

        @Option(help: "The currency of prices that name none (Shopify).")
        var currency = "USD"

        @Option(help: "The shipping weight in grams of physical products the feed gives none for (default: such rows are refused).")
        var defaultWeightGrams: Int64?

        @Option(help: "Write every rejected row to this file as JSON Lines.")
        var rejections: String?

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let formats = CatalogFeedFormat.allCases.map(\.rawValue).joined(separator: ", ")
            let feedFormat: CatalogFeedFormat
            if let format {
                guard let named = CatalogFeedFormat(rawValue: format) else { throw ValidationError("Unknown format \(format); one of \(formats).") }
                feedFormat = named
            } else {
                guard let guessed = CatalogFeedFormat.guess(file) else { throw ValidationError("Say the feed's format with --format (\(formats)).") }
                feedFormat = guessed
            }
            let path = file
            if path != "-" && !FileManager.default.fileExists(atPath: path) { throw ValidationError("No such file \(path).") }
            let services = try storeOptions.open()
            defer { services.database.close() }
            var job = CatalogImport(format: feedFormat, origin: origin ?? feedFormat.rawValue)
            job.replace = replace
            job.strict = strict
            job.dryRun = dryRun
            job.currency = currency
            job.defaultWeightGrams = defaultWeightGrams
            let size = path == "-" ? nil : (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
            let log = try rejections.map { file -> FileHandle in
                guard FileManager.default.createFile(atPath: file, contents: nil) else { throw ValidationError("Cannot write \(file).") }
                return try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            }
            defer { try? log?.close() }
            var printed = 0
            let outcome = try job.run(
                { path == "-" ? ByteSource(fileHandle: .standardInput) : try ByteSource(path: path) },
                services: services, schemas: try ProjectFolder.schemas(storeOptions.schemas),
                progress: ImportProgress(totalBytes: size),
                onRejection: { rejection in
                    log?.write(Data((rejection.json.compactString + "\n").utf8))
                    if printed < 50 {
                        print("rejected row \(rejection.row)\(rejection.id.map { " (\($0))" } ?? ""): \(rejection.field): \(rejection.reason)", to: &standardError)
                    }
                    printed += 1
                })
            if outcome.rejected > 50 {
                print("… and \(outcome.rejected - 50) more rejected rows\(rejections.map { " (all in \($0))" } ?? "")", to: &standardError)
            }
            printJSON(outcome.json)
            if strict && outcome.rejected > 0 {
                print("storefront: nothing imported: \(outcome.rejected) rows refused and --strict", to: &standardError)
                throw ExitCode(1)
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the catalog, with live stock, as an ACP product feed (JSON Lines) or a Google Merchant Center feed (TSV or XML).")

        @Option(help: "acp, gmc-tsv or gmc-xml.")
        var format: String = "acp"

        @Option(name: .shortAndLong, help: "The file to write (default: standard output).")
        var output: String?

        @Option(help: "The public URL product links start with (default: the one the gateway serves at).")
        var baseURL: String?

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let services = try storeOptions.open()
            defer { services.database.close() }
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil) else { throw ValidationError("Cannot write \(output).") }
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            } else {
                handle = .standardOutput
            }
            defer { if output != nil { try? handle.close() } }
            let base = baseURL ?? services.publicURL ?? "http://localhost:8080"
            var written = 0
            switch format {
            case "acp":
                let manifests = services.manifests
                let seller: JSON = [
                    "name": .string(manifests.storeName),
                    "links": [
                        ["type": "return_policy", "url": .string(base + "/policies#returns")],
                        ["type": "shipping_policy", "url": .string(base + "/policies#shipping")],
                    ],
                ]
                let writer = ACPFeedWriter(seller: seller, baseURL: base, fileHandle: handle)
                try services.forEachLiveProduct { writer.write($0); written += 1 }
            case "gmc-tsv", "gmc-xml":
                let writer = MerchantCenterWriter(
                    format: format == "gmc-tsv" ? .tsv : .xml, baseURL: base, title: services.manifests.storeName, fileHandle: handle)
                try services.forEachLiveProduct { writer.write($0); written += 1 }
                writer.finish()
            default:
                throw ValidationError("Unknown format \(format); one of acp, gmc-tsv, gmc-xml.")
            }
            if output != nil { print("wrote \(written) products to \(output!)", to: &standardError) }
        }
    }

    struct SetStock: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-stock", abstract: "Set what is left of SKUs (a product or variant id): SKU=N ... (agents watching a product that had none hear it is back).")

        @Argument(help: "SKU=N pairs.")
        var levels: [String]

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            var parsed: [(sku: String, available: Int64)] = []
            for level in levels {
                let parts = level.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let n = Int64(parts[1]), n >= 0 else { throw ValidationError("\(level): expected SKU=N with N ≥ 0.") }
                parsed.append((String(parts[0]), n))
            }
            try storeOptions.changeCatalog(refusing: "unknown SKUs") { try $0.setStock(parsed) }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove products from the catalog (agents that bought or watch one hear it is discontinued; orders keep naming it).")

        @Argument(help: "Product ids.")
        var ids: [String]

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            try storeOptions.changeCatalog(refusing: "no such products") { try $0.delete(ids) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The catalog's version, product count and categories.")

        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let services = try storeOptions.open()
            defer { services.database.close() }
            printJSON([
                "version": .int(Int64(services.catalog.version)), "products": .int(Int64(services.catalog.productCount)),
                "categories": .array(services.catalog.categories.map { ["id": .string($0.id), "name": .string($0.name)] }),
            ])
        }
    }
}

extension StoreOptions {
    /// Runs a catalog change on the store, prints its report, and fails naming what it refused.
    func changeCatalog(refusing what: String, _ change: (CatalogChanges) throws -> (JSON, [String])) throws {
        let services = try open()
        defer { services.database.close() }
        let changes = try CatalogChanges(manifests: services.manifests, database: services.database, schemas: try ProjectFolder.schemas(schemas))
        let (report, refused) = try change(changes)
        printJSON(report)
        guard refused.isEmpty else {
            print("storefront: \(what): \(refused.joined(separator: ", "))", to: &standardError)
            throw ExitCode(1)
        }
    }
}
