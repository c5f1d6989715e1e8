// swift-tools-version:6.1
import PackageDescription

// Swift 6 language mode: data-race safety checked by the compiler. The types that cross
// threads under a lock or a C library's ordering (libmicrohttpd's resume, the store's writer
// thread) say so where they are marked @unchecked Sendable. `make test` fails on any warning.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "storefront",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "storefront", targets: ["storefront"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // OpenTelemetry metrics export (OTLP/HTTP only: the gRPC exporter's dependencies are not built).
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
                       providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD"], swiftSettings: swiftSettings),
        .target(name: "JSON", dependencies: ["CJansson"], swiftSettings: swiftSettings),
        // JSON Schema 2020-12 validation (a leaf beside JSON; the manifests and every action use it).
        .target(name: "JSONSchema", dependencies: ["JSON"], swiftSettings: swiftSettings),
        // The store: connections, the group-commit writer, migrations; SQLite as the embedded
        // default. StorePostgres is the same store on PostgreSQL, for several gateway nodes.
        .target(name: "Store", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        .target(name: "StorePostgres", dependencies: ["Store", "CPostgres"], swiftSettings: swiftSettings),
        // What the store is, in types and rules, without SQL or HTTP: it imports only JSON and
        // Crypto (the package manager refuses any other import).
        .target(
            name: "StorefrontDomain",
            dependencies: ["JSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The agent buying-journey auditor: fetches a site and grades it; knows nothing of the
        // gateway, the store or HTTP serving.
        .target(
            name: "JourneyAudit",
            dependencies: ["StorefrontDomain", "JSON", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("audit-rubric.json")],
            swiftSettings: swiftSettings
        ),
        // Every table's SQL and the migrations, for SQLite and PostgreSQL: orders, wallets, the
        // audit trail, agents, inbox, analytics, MCP sessions, webhooks' outbox, the catalog index.
        .target(
            name: "StorefrontStore",
            dependencies: ["StorefrontDomain", "JSON", "Store", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Analytics/known-agents.LICENSE"],
            resources: [.copy("Analytics/known-agents.json"), .copy("Analytics/operator-verification.json")],
            swiftSettings: swiftSettings
        ),
        // The actions and their rules (the registry, idempotency, commerce, after-sale). No SQL:
        // without the Store module and with MemberImportVisibility it can open transactions
        // but run no statement; the store's typed functions do that.
        .target(
            name: "StorefrontActions",
            dependencies: [
                "StorefrontStore", "StorefrontDomain", "JourneyAudit", "CatalogFeeds", "JSON", "JSONSchema",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings + [.enableUpcomingFeature("MemberImportVisibility")]
        ),
        // The composition root without HTTP: opens the store a `--store` names (SQLite or
        // PostgreSQL) and builds the store's services on it; `serve` and every admin command use it.
        .target(
            name: "StorefrontApp",
            dependencies: [
                "StorefrontActions", "StorefrontStore", "StorefrontDomain", "CatalogFeeds", "JSON", "Store", "StorePostgres",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // MCP (JSON-RPC, Streamable HTTP in both revisions, sessions, resources, prompts): sees the
        // store's actions only through MCPToolProvider, and neither the store nor the gateway.
        .target(
            name: "StorefrontMCP",
            dependencies: ["StorefrontDomain", "HTTPServer", "JSON"],
            swiftSettings: swiftSettings
        ),
        // The HTTP face: routes, middleware (auth, CORS, analytics, rate limits), discovery
        // documents and MCP's transport, on the actions and the store services. No SQL (as for
        // StorefrontActions: no Store module, MemberImportVisibility).
        .target(
            name: "StorefrontHTTP",
            dependencies: [
                "StorefrontApp", "StorefrontActions", "StorefrontStore", "StorefrontMCP", "StorefrontDomain", "JourneyAudit",
                "CatalogFeeds", "HTTPServer", "JSON", "JSONSchema",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings + [.enableUpcomingFeature("MemberImportVisibility")]
        ),
        // The gateway's metrics over OpenTelemetry (swift-otel): the one module that links it.
        .target(
            name: "StorefrontTelemetry",
            dependencies: [
                "StorefrontHTTP", "StorefrontStore", .product(name: "OTel", package: "swift-otel"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Product feeds in and out, streamed: Google Merchant Center (TSV, XML), Shopify's
        // products.json, ACP's products.jsonl and the store's own catalog.json, without
        // holding a large feed in memory. Knows nothing of the store, HTTP or the gateway.
        .target(name: "CatalogFeeds", dependencies: ["JSON", "StorefrontDomain"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "storefront",
            dependencies: [
                "StorefrontTelemetry", "StorefrontApp", "StorefrontHTTP", "StorefrontActions", "StorefrontStore", "StorefrontDomain", "JourneyAudit",
                "CatalogFeeds",
                "HTTPServer", "JSON", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "JSONTests", dependencies: ["JSON"], swiftSettings: swiftSettings),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSONSchema", "JSON"], swiftSettings: swiftSettings),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"], swiftSettings: swiftSettings),
        // Fixtures are read from the source tree (relative to #filePath), not bundled.
        .testTarget(
            name: "CatalogFeedsTests", dependencies: ["CatalogFeeds", "JSON", "StorefrontDomain"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "StoreTests", dependencies: ["Store", "StorePostgres"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StorefrontTests",
            dependencies: [
                "StorefrontApp", "StorefrontHTTP", "StorefrontMCP", "StorefrontActions", "StorefrontStore", "StorefrontDomain",
                "JourneyAudit", "HTTPServer", "JSON", "Store", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
