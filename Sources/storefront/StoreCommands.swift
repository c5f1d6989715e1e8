import ArgumentParser
import Foundation
import JSON
import Store
import StorefrontActions
import StorefrontApp
import StorefrontDomain
import StorefrontStore

/// Options every command that works on a store file shares.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite store file.")
    var store: String = "storefront.db"

    @Option(help: "The manifests folder of the store (default: the folder the gateway last served this store from, else ./manifests).")
    var manifests: String?

    @Option(help: "The JSON Schemas folder (default: ./schemas or the one shipped beside the binary).")
    var schemas: String?

    @Option(help: "The store's signing key file (default: STORE.key).")
    var signingKey: String?

    /// Opens the store's services as the gateway does (a running gateway may share the file),
    /// without HTTP: no catalog index, no threads, no socket.
    func open() throws -> StoreServices {
        guard StoreOpener.exists(store) else {
            throw ValidationError("No store at \(StoreOpener.describe(store)); start the gateway once (storefront serve) or pass --store.")
        }
        let library = try ProjectFolder.schemas(schemas)
        let database = try StoreOpener.open(store, readers: 1)
        // The folder the gateway serves this store from comes first: an admin command run beside
        // some other ./manifests must not load (and index) another store's catalog into this one.
        let folder: URL
        if let manifests {
            folder = URL(fileURLWithPath: manifests)
        } else if let served = try ServedConfiguration.manifestsFolder(in: database), FileManager.default.fileExists(atPath: served.path) {
            folder = served
        } else if FileManager.default.fileExists(atPath: "manifests") {
            folder = URL(fileURLWithPath: "manifests")
        } else {
            database.close()
            throw ValidationError("No manifests folder here and the store \(store) names none (it has not been served yet); pass --manifests DIR.")
        }
        let loaded: StoreManifests
        do {
            loaded = try StoreManifests.load(from: folder, schemas: library)
        } catch {
            database.close()
            throw error
        }
        var settings = StoreServices.Settings()
        settings.signingKeyPath = signingKey
        // An order completed here (approvals approve) is queued for the merchant's endpoints as
        // the gateway would queue it; the running gateway's dispatcher delivers it.
        settings.webhookURLs = try ServedConfiguration.webhookURLs(in: database)
        settings.publicURL = try ServedConfiguration.ucpPublicURL(in: database)
        return try StoreServices(manifests: loaded, database: database, settings: settings)
    }
}

func printJSON(_ value: JSON) {
    FileHandle.standardOutput.write(Data(value.prettyPrinted()))
}

/// Runs a command body, turning domain errors into a message and a non-zero exit.
func reporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ActionError {
        print("storefront: \(error.message)", to: &standardError)
        throw ExitCode(1)
    }
}

struct Agents: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register, list, revoke agents and rotate their keys.",
        subcommands: [Create.self, List.self, Revoke.self, RotateKey.self, RefreshRanges.self, Ranges.self, Policy.self])

    struct RefreshRanges: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "refresh-ranges",
            abstract: "Store the address ranges an operator publishes for one agent family (its JSON: {creationTime, prefixes: [{ipv4Prefix} | {ipv6Prefix}]}); a request from inside them that names that family is verified.")
        @OptionGroup var options: StoreOptions
        @Option(help: "The family, as known-agents names it (ChatGPT-User, GPTBot, OAI-SearchBot, Googlebot …).") var family: String
        @Option(help: "Where the operator publishes the ranges (an https URL), or a file (default: the operator's published URL, from `storefront agents ranges`).")
        var from: String?
        func run() throws {
            try reporting {
                guard let from = from ?? OperatorRanges.methods()["families"]?[family]?["ranges"]?.stringValue else {
                    throw ValidationError("\(family) publishes no ranges this store knows of; pass --from URL|FILE.")
                }
                let bytes: [UInt8]
                if from.hasPrefix("https://") || from.hasPrefix("http://") {
                    guard let url = URL(string: from) else { throw ValidationError("--from \(from) is not a URL.") }
                    bytes = Array(try Data(contentsOf: url))
                } else {
                    bytes = Array(try Data(contentsOf: URL(fileURLWithPath: from)))
                }
                let published = try OperatorRanges.published(try JSON.parse(bytes: bytes))
                let services = try options.open()
                try OperatorRanges.replace(
                    family: family, prefixes: published.prefixes, source: from, publishedAt: published.publishedAt, in: services.database)
                printJSON(["family": .string(family), "prefixes": .int(Int64(published.prefixes.count)), "source": .string(from),
                           "published_at": JSON(published.publishedAt)])
            }
        }
    }

    struct Policy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the access policy for agents' operators, or replace it (--set FILE: {\"rules\": [{\"agent\", \"stage\", \"access\"}], \"price\"}); a running gateway takes it up within its sweep interval.")
        @OptionGroup var options: StoreOptions
        @Option(help: "A policy document to store in place of the current one (checked whole first).") var set: String?
        func run() throws {
            try reporting {
                let database = try options.open().database
                let classifier = AgentClassifier.bundled()
                if let set {
                    let document = try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: set))))
                    printJSON(try AccessPolicy.save(try AccessPolicy(json: document, classifier: classifier), to: database).json())
                } else {
                    printJSON(try AccessPolicy.load(from: database, classifier: classifier).json())
                }
            }
        }
    }

    struct Ranges: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How each agent family can be verified (its operator's published ranges, its Web Bot Auth origin) and what ranges are stored.")
        @OptionGroup var options: StoreOptions
        func run() throws {
            printJSON(.array(try OperatorRanges.summary(in: try options.open().database)))
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an agent; prints its API key once.")
        @OptionGroup var options: StoreOptions
        @Option(help: "The person or company the agent acts for.") var principal: String
        @Option(name: [.customLong("display-name"), .customLong("name")], help: "The agent's name, shown to the merchant (display_name in the API; --name is the former spelling).")
        var displayName: String
        @Option(help: "Who runs the agent (e.g. the AI provider).") var `operator`: String = ""
        @Option(help: "A file with the agent's Ed25519 public JWK, for signed requests.") var publicKey: String?

        func run() throws {
            let services = try options.open()
            var body: [String: JSON] = [
                "principal": .string(principal), "display_name": .string(displayName), "operator": .string(`operator`),
            ]
            if let publicKey {
                body["public_key"] = try JSON.parse(String(contentsOfFile: publicKey, encoding: .utf8))
            }
            do {
                printJSON(try services.registerAgent(.object(body)))
            } catch {
                printJSON(error.json)
                throw ExitCode(1)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List agents.")
        @OptionGroup var options: StoreOptions
        func run() throws {
            for agent in try options.open().agentList() {
                print("\(agent.id)  \(agent.active ? "active " : "revoked")  \(agent.displayName) — for \(agent.principal)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an agent; its keys stop working on the next request.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The agent id.") var id: String
        func run() throws {
            guard try options.open().revokeAgent(id) else { throw ValidationError("No active agent \(id).") }
            print("revoked \(id)")
        }
    }

    struct RotateKey: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a new API key; the old one stops working.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The agent id.") var id: String
        func run() throws {
            guard let key = try options.open().rotateAgentKey(id) else { throw ValidationError("No active agent \(id).") }
            print(key)
        }
    }
}

struct Wallets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fund wallets, set spend limits, show balances.", subcommands: [Fund.self, Limits.self, Show.self])

    struct Fund: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add money to an agent's wallet (minor units).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The agent id.") var id: String
        @Argument(help: "The amount in minor units (2500 is 25.00).") var amount: Int64
        @Option(help: "A note for the ledger.") var note: String?
        func run() throws {
            try reporting { printJSON(try options.open().commerce.fund(id, amount: amount, note: note, by: "cli")) }
        }
    }

    struct Limits: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set spend controls (amounts in minor units; \"none\" clears one).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The agent id.") var id: String
        @Option var perTransaction: String?
        @Option var daily: String?
        @Option var weekly: String?
        @Option var monthly: String?
        @Option var allTime: String?
        @Option var approvalThreshold: String?
        @Option(help: "Comma-separated categories the agent may buy (\"none\" allows all).") var allowedCategories: String?
        @Option(help: "Comma-separated categories the agent may not buy.") var blockedCategories: String?

        func run() throws {
            var changes: [String: JSON] = [:]
            for (key, value) in [("per_transaction", perTransaction), ("daily", daily), ("weekly", weekly), ("monthly", monthly),
                                 ("all_time", allTime), ("approval_threshold", approvalThreshold)] {
                guard let value else { continue }
                if value == "none" { changes[key] = .null; continue }
                guard let amount = Int64(value), amount >= 0 else {
                    throw ValidationError("--\(key.replacingOccurrences(of: "_", with: "-")) takes minor units or none.")
                }
                changes[key] = .int(amount)
            }
            if let allowedCategories {
                changes["allowed_categories"] =
                    allowedCategories == "none" ? .null : .array(allowedCategories.split(separator: ",").map { .string(String($0)) })
            }
            if let blockedCategories {
                changes["blocked_categories"] = .array(blockedCategories.split(separator: ",").map { .string(String($0)) })
            }
            try reporting { printJSON(try options.open().commerce.setControls(id, .object(changes), by: "cli")) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a wallet: balance, limits and what is left.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The agent id.") var id: String
        func run() throws {
            guard let wallet = try options.open().commerce.wallet(id) else { throw ValidationError("No wallet for \(id).") }
            printJSON(wallet)
        }
    }
}

struct Approvals: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Purchases waiting for the principal.", subcommands: [List.self, Approve.self, Deny.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List approvals (pending by default).")
        @OptionGroup var options: StoreOptions
        @Option(help: "pending, approved, denied, expired, canceled or all.") var status: String = "pending"
        func run() throws {
            printJSON(.array(try options.open().commerce.approvals(status: status == "all" ? nil : status)))
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a pending purchase; it completes.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The approval id.") var id: String
        func run() throws { try reporting { printJSON(try options.open().commerce.decide(id, .approve, by: "cli")) } }
    }

    struct Deny: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deny a pending purchase; its hold is released.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The approval id.") var id: String
        func run() throws { try reporting { printJSON(try options.open().commerce.decide(id, .deny, by: "cli")) } }
    }
}

struct Orders: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What happens to orders after they are placed.", subcommands: [Fulfill.self])

    struct Fulfill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a fulfillment event (shipped, delivered, …): the agent's inbox, the webhooks and UCP's order show it.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The order id.") var id: String
        @Option(help: "processing, shipped, in_transit, delivered, failed_attempt, canceled, undeliverable or returned_to_sender.")
        var type: String
        @Option(help: "A line and quantity (li_1=2; repeatable; default: every line in full).") var line: [String] = []
        @Option var trackingNumber: String?
        @Option var trackingURL: String?
        @Option var carrier: String?
        @Option var description: String?
        func run() throws {
            try reporting {
                var lines: JSON?
                if !line.isEmpty {
                    lines = .array(line.map { item in
                        let parts = item.split(separator: "=", maxSplits: 1)
                        return ["id": .string(String(parts[0])), "quantity": .int(Int64(parts.count > 1 ? String(parts[1]) : "") ?? 0)]
                    })
                }
                printJSON(
                    try options.open().commerce.recordFulfillment(
                        orderID: id, type: type, lineItems: lines, trackingNumber: trackingNumber, trackingURL: trackingURL, carrier: carrier,
                        description: description, by: "cli"))
            }
        }
    }
}

struct Trail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The tamper-evident audit trail.", subcommands: [Verify.self, Export.self, Tail.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain and the Merkle tree, check signed checkpoints and heads; exit 0 when intact.",
            discussion: """
                With --against HEAD.json (a head saved from /.well-known/trail-head, or a purchase receipt), also prove \
                that the trail today extends that head: any entry it covers that was edited, removed, renumbered or \
                cut off fails, even when everything was re-signed with the key. Exit 1 when anything fails.
                """)
        @Option(help: "The SQLite store file.") var store: String = "storefront.db"
        @Option(help: "The store's signing key file (default: STORE.key).") var signingKey: String?
        @Option(help: "Check with this public key instead (a JWK or the JWKS saved from /.well-known/jwks.json).")
        var publicKey: String?
        @Option(help: "A signed trail head saved earlier (or a receipt): prove the trail is consistent with it.")
        var against: String?

        func run() throws {
            guard StoreOpener.exists(store) else { throw ValidationError("No store at \(StoreOpener.describe(store)).") }
            var saved: TrailHead?
            if let against {
                guard let data = FileManager.default.contents(atPath: against), let json = try? JSON.parse(bytes: [UInt8](data)),
                    let head = TrailConsistencyCheck.head(from: json)
                else { throw ValidationError("\(against) is not a signed trail head (tree_size, root_hash, timestamp, kid, signature).") }
                saved = head
            }
            let database = try StoreOpener.open(store, readers: 1)
            defer { database.close() }
            let jwk = try publicJWK(database: database, kid: saved?.keyID)
            var failed = false
            let result = try AuditTrail.verify(database: database, publicJWK: jwk)
            if result.intact {
                print(
                    "trail intact: \(result.entries) entries, \(result.checkpoints) signed checkpoints verified, "
                        + "\(result.heads) signed heads verified; Merkle root \(MerkleHash.hex(result.root))")
            } else {
                print(
                    "trail BROKEN at seq \(result.firstBadSeq ?? 0): \(result.problem?.rawValue ?? "") — \(result.detail ?? "")",
                    to: &standardError)
                failed = true
            }
            if let saved {
                let check = try TrailConsistencyCheck.run(saved: saved, database: database, publicJWK: jwk)
                if let problem = check.problem {
                    print(
                        "trail NOT CONSISTENT with the saved head (size \(saved.treeSize), signed \(saved.timestamp)): \(problem)",
                        to: &standardError)
                    failed = true
                } else {
                    print(
                        "consistent with the saved head: size \(saved.treeSize) (root \(MerkleHash.hex(saved.rootHash))) is a prefix of "
                            + "size \(check.currentSize) (root \(MerkleHash.hex(check.currentRoot))); consistency proof of "
                            + "\(check.proofLength) hashes verified")
                }
            } else if !failed {
                print(
                    "note: without --against HEAD.json, entries cut from the end together with their checkpoints and heads, "
                        + "or a rewrite re-signed with the key, cannot be seen; keep heads from /.well-known/trail-head")
            }
            if failed { throw ExitCode(1) }
        }

        /// The public key to check signatures with: --public-key, else the key file's (or a key
        /// an older version kept in the store).
        func publicJWK(database: Database, kid: String?) throws -> JSON {
            if let publicKey {
                guard let data = FileManager.default.contents(atPath: publicKey), let json = try? JSON.parse(bytes: [UInt8](data)) else {
                    throw ValidationError("Cannot read a JWK from \(publicKey).")
                }
                let keys = json["keys"]?.arrayValue ?? [json]
                guard let key = keys.first(where: { kid == nil || $0["kid"]?.stringValue == kid }) ?? keys.first else {
                    throw ValidationError("\(publicKey) holds no key.")
                }
                return key
            }
            let path = signingKey ?? StoreOpener.signingKeyPath(store: store)
            guard let key = try SigningKeyFile.load(path: path, database: database) else {
                print("storefront: no signing key at \(path) (nor in the store); pass --signing-key or --public-key", to: &standardError)
                throw ExitCode(1)
            }
            return key.publicJWK
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print entries as JSON lines.")
        @Option(help: "The SQLite store file.") var store: String = "storefront.db"
        @Option(help: "Only entries after this sequence number.") var since: Int64 = 0
        func run() throws {
            let database = try StoreOpener.open(store, readers: 1)
            defer { database.close() }
            var after = since
            while true {
                let batch = try AuditTrail.entries(in: database, after: after, limit: 1000)
                if batch.isEmpty { break }
                for entry in batch { print(entry.json.compactString) }
                after = batch.last!.seq
            }
        }
    }

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the last entries, then follow new ones.")
        @Option(help: "The SQLite store file.") var store: String = "storefront.db"
        @Option(help: "How many past entries to show first.") var lines: Int64 = 10
        @Flag(help: "Keep printing new entries as they are written.") var follow = false
        func run() throws {
            let database = try StoreOpener.open(store, readers: 1)
            defer { database.close() }
            let last = try database.read { try $0.queryOne("SELECT coalesce(max(seq), 0) FROM trail")?[0].int ?? 0 }
            var after = max(0, last - lines)
            repeat {
                for entry in try AuditTrail.entries(in: database, after: after, limit: 1000) {
                    print(entry.json.compactString)
                    after = entry.seq
                }
                fflush(nil)
                if follow { usleep(500_000) }
            } while follow
        }
    }
}

struct Webhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Order-event deliveries to the merchant's webhooks.", subcommands: [List.self, Replay.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries (all, or pending, delivered, dead).")
        @Option(help: "The SQLite store file.") var store: String = "storefront.db"
        @Option(help: "pending, delivered, dead or all.") var status: String = "all"
        func run() throws {
            let database = try StoreOpener.open(store, readers: 1)
            defer { database.close() }
            printJSON(.array(try WebhookDispatcher.list(in: database, status: status == "all" ? nil : status)))
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a dead or delivered delivery again.")
        @Option(help: "The SQLite store file.") var store: String = "storefront.db"
        @Argument(help: "The delivery id.") var id: Int64
        func run() throws {
            let database = try StoreOpener.open(store, readers: 1)
            defer { database.close() }
            guard try WebhookDispatcher.replay(id, in: database) else { throw ValidationError("No delivery \(id).") }
            print("delivery \(id) queued again")
        }
    }
}
