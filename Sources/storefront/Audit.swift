import ArgumentParser
import Foundation
import HTTPServer
import JSON
import JourneyAudit
import Store
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontHTTP
import StorefrontStore

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit a product's agent buying journey, stage by stage, with the fix for each finding.",
        discussion: """
            Audits a live site by URL, or a manifests folder (served on a private loopback port for the audit).             Exit codes: 0 the report was produced (and the score is at least --fail-under), 1 the score is below             --fail-under, 64 wrong arguments, 65 an invalid manifests folder.
            """)

    @Argument(help: "The site to audit, e.g. https://shop.example (omit with --manifests).")
    var url: String?

    @Option(help: "Audit the store in this manifests folder instead of a URL.")
    var manifests: String?

    /// How the report is written.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, table, json, markdown, html
    }

    @Option(help: "text (a table; colour on a terminal; also: table), json, markdown or html.")
    var format: Format = .text

    @Option(help: "Write the report to this file instead of standard output.")
    var output: String?

    @Option(name: [.customLong("fail-under"), .customLong("min-score")], help: "Exit 1 when the overall score is below this (for CI).")
    var failUnder: Double?

    @Option(help: "Seconds to wait for each request to the target.")
    var timeout: Double = 10

    @Option(help: "At most this many requests to the target (every redirect hop counts).")
    var maxRequests: Int = 60

    @Option(help: "No new request after this many seconds.")
    var maxSeconds: Double = 90

    @Flag(help: "Let the audit follow the site's documents to other hosts on private, loopback or link-local addresses (for tests on one machine). The audited site's own host is always allowed.")
    var allowPrivate = false

    @Option(help: "Also fetch the home page as a signed agent (Web Bot Auth): the private Ed25519 key as a JWK file (with \"d\"; a storefront key file will do). Needs --signature-agent.")
    var signingKey: String?

    @Option(help: "The signed agent's operator origin (https://…), whose /.well-known/http-message-signatures-directory publishes the key.")
    var signatureAgent: String?

    @Option(help: "Keep the report in this store file (the dashboard shows the history).")
    var store: String?

    @Option(help: "The JSON Schemas folder (for --manifests).")
    var schemas: String?

    func validate() throws {
        guard (url == nil) != (manifests == nil) else { throw ValidationError("Give a URL or --manifests DIR (one of them).") }
        guard timeout > 0 && timeout <= 120 else { throw ValidationError("--timeout must be from 0 to 120 seconds.") }
        guard (signingKey == nil) == (signatureAgent == nil) else { throw ValidationError("--signing-key and --signature-agent go together.") }
        if let signatureAgent {
            guard let parsed = URL(string: signatureAgent), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ValidationError("--signature-agent must be an origin such as https://agent.example, not \(signatureAgent).")
            }
        }
        guard (1...1000).contains(maxRequests) else { throw ValidationError("--max-requests must be from 1 to 1000.") }
        guard maxSeconds > 0 && maxSeconds <= 3600 else { throw ValidationError("--max-seconds must be from 0 to 3600.") }
        if let url {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ValidationError("The URL must be http:// or https:// with a host, not \(url).")
            }
        }
    }

    func run() throws {
        var target = url ?? ""
        var stopLocal: (() -> Void)?
        if let manifests {
            (target, stopLocal) = try serveLocally(manifests)
        }
        defer { stopLocal?() }
        var gatherer = Gatherer(base: target)
        gatherer.limits.timeout = timeout
        gatherer.limits.maxRequests = maxRequests
        gatherer.limits.maxSeconds = maxSeconds
        gatherer.limits.allowPrivate = allowPrivate
        if let signingKey, let signatureAgent {
            guard let data = FileManager.default.contents(atPath: signingKey), let jwk = try? JSON.parse(bytes: [UInt8](data)),
                jwk["crv"]?.stringValue == "Ed25519", let d = jwk["d"]?.stringValue.flatMap(Base64URL.decode),
                let key = try? StoreSigningKey(rawRepresentation: Data(d))
            else { throw ValidationError("--signing-key \(signingKey): not a private Ed25519 JWK (kty OKP, crv Ed25519, with d).") }
            gatherer.signer = WebBotAuthSigner(key: key, agent: signatureAgent.hasSuffix("/") ? String(signatureAgent.dropLast()) : signatureAgent)
        }
        let gathered = gatherer.gather()
        let report = JourneyAudit(target: manifests.map { "manifests:\($0)" } ?? target, gathered: gathered, rubric: try .bundled()).run()
        if let store {
            let database = try StoreOpener.open(store, readers: 1)
            try AuditHistory.save(report, in: database)
            database.close()
        }
        let text: String
        switch format {
        case .json: text = report.prettyString
        case .markdown: text = ReportRenderer.markdown(report)
        case .html: text = ReportRenderer.html(report)
        case .text, .table: text = ReportRenderer.table(report, color: output == nil && isatty(1) == 1)
        }
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            print("report written to \(output): \(report["score"]?.doubleValue ?? 0)/100 (\(report["level"]?.stringValue ?? ""))")
        } else {
            print(text)
        }
        if let failUnder, (report["score"]?.doubleValue ?? 0) < failUnder { throw ExitCode(1) }
    }

    /// Serves a manifests folder on a free loopback port with a temporary store.
    func serveLocally(_ folder: String) throws -> (String, () -> Void) {
        let library = try ProjectFolder.schemas(schemas)
        let loaded: StoreManifests
        do {
            loaded = try StoreManifests.load(from: URL(fileURLWithPath: folder), schemas: library)
        } catch let error as ManifestValidationError {
            print(error, to: &standardError)
            throw ExitCode(65)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storefront-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let database = try Database(path: dir.appendingPathComponent("audit.db").path, migrations: StoreMigrations.all)
        var config = ServerConfiguration()
        config.port = 0
        config.threads = 2
        let box = RouterBox()
        let server = HTTPServer(configuration: config) { box.route($0) }
        try server.start()
        var gatewayConfig = GatewayConfiguration(publicURL: "http://127.0.0.1:\(server.port)")
        gatewayConfig.recordsAnalytics = false
        let gateway = try Gateway(configuration: gatewayConfig, manifests: loaded, database: database, schemas: library)
        box.set { gateway.handle($0) }
        return ("http://127.0.0.1:\(server.port)", {
            server.stop()
            gateway.stop()
            database.close()
            try? FileManager.default.removeItem(at: dir)
        })
    }
}
