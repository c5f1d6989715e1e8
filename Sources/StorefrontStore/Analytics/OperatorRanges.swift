import Foundation
import JSON
import Store
import StorefrontDomain

/// The address ranges operators publish for their agents (OpenAI's `chatgpt-user.json`,
/// `gptbot.json`, `searchbot.json`; Google's `googlebot.json` …, all one shape:
/// `{"creationTime": …, "prefixes": [{"ipv4Prefix": "a.b.c.d/n"} | {"ipv6Prefix": "…/n"}]}`),
/// kept in the store by family (`storefront agents refresh-ranges`). A request whose User-Agent
/// names a family and whose address is inside one of its ranges is that family, verified.
package struct OperatorRanges: Sendable {
    /// One CIDR block.
    package struct Block: Sendable, Equatable {
        var network: [UInt8]
        var length: Int

        package init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1)
            guard let bytes = OperatorRanges.address(String(parts[0])) else { return nil }
            let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
            guard let length, length >= 0, length <= bytes.count * 8 else { return nil }
            network = bytes
            self.length = length
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == network.count else { return false }
            var bits = length, i = 0
            while bits >= 8 {
                if address[i] != network[i] { return false }
                bits -= 8
                i += 1
            }
            if bits == 0 { return true }
            let mask = UInt8(0xff) << (8 - bits)
            return address[i] & mask == network[i] & mask
        }
    }

    /// Blocks by family name.
    package var blocks: [String: [Block]] = [:]

    package init(blocks: [String: [Block]] = [:]) { self.blocks = blocks }

    /// The 4 or 16 bytes of an address (an IPv4-mapped IPv6 address is its IPv4).
    package static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff { return Array(bytes[12...]) }
        return bytes
    }

    /// Whether `address` is inside one of `family`'s published ranges (false when it has none).
    package func contains(family: String, address: String) -> Bool {
        guard let list = blocks[family], !list.isEmpty, let bytes = Self.address(address) else { return false }
        return list.contains { $0.contains(bytes) }
    }

    /// The prefixes of a published ranges document and when it was made.
    package static func published(_ document: JSON) throws -> (prefixes: [String], publishedAt: String?) {
        guard let list = document["prefixes"]?.arrayValue else {
            throw ActionError.invalid("invalid_ranges", "A ranges document is {\"creationTime\", \"prefixes\": [{\"ipv4Prefix\"} | {\"ipv6Prefix\"}]}.")
        }
        var prefixes: [String] = []
        for entry in list {
            guard let prefix = entry["ipv4Prefix"]?.stringValue ?? entry["ipv6Prefix"]?.stringValue, Block(prefix) != nil else {
                throw ActionError.invalid("invalid_ranges", "Not an address prefix: \(entry.compactString.prefix(80)).")
            }
            prefixes.append(prefix)
        }
        guard prefixes.count <= 100_000 else { throw ActionError.invalid("invalid_ranges", "At most 100,000 prefixes per family.") }
        return (prefixes, document["creationTime"]?.stringValue)
    }

    /// Replaces `family`'s ranges with `prefixes`, from `source`.
    package static func replace(family: String, prefixes: [String], source: String, publishedAt: String?, in database: Database) throws {
        try database.write { db in
            try db.run("DELETE FROM operator_ranges WHERE family = ?", [.text(family)])
            for start in stride(from: 0, to: prefixes.count, by: 200) {
                let chunk = prefixes[start..<min(prefixes.count, start + 200)]
                try db.run(
                    "INSERT INTO operator_ranges (family, prefix, source, published_at, fetched_at) VALUES "
                        + Array(repeating: "(?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING",
                    chunk.flatMap { [.text(family), .text($0), .text(source), SQLValue(publishedAt), .integer(unixNow())] })
            }
        }
    }

    /// Every family's ranges as the store holds them.
    package static func load(from database: Database) throws -> OperatorRanges {
        try database.read { db in
            var blocks: [String: [Block]] = [:]
            for row in try db.query("SELECT family, prefix FROM operator_ranges") {
                guard let family = row[0].string, let block = row[1].string.flatMap(Block.init) else { continue }
                blocks[family, default: []].append(block)
            }
            return OperatorRanges(blocks: blocks)
        }
    }

    /// How each operator's agents can be verified (shipped with the module): by family, its
    /// operator, where it publishes its address ranges, and the Web Bot Auth origin it signs with.
    package static func methods() -> JSON {
        guard let url = Bundle.module.url(forResource: "operator-verification", withExtension: "json"),
            let data = FileManager.default.contents(atPath: url.path), let json = try? JSON.parse(bytes: [UInt8](data))
        else { return ["families": [:]] }
        return json
    }

    /// Every family that can be verified, with its methods and what the store holds of its
    /// ranges: how many prefixes, from where, published when.
    package static func summary(in database: Database) throws -> [JSON] {
        let shipped = methods()["families"]?.objectValue ?? [:]
        let stored: [String: JSON] = try database.read { db in
            Dictionary(uniqueKeysWithValues: try db.query(
                "SELECT family, count(*), max(source), max(published_at), max(fetched_at) FROM operator_ranges GROUP BY family ORDER BY family"
            ).map { row in
                (row[0].string ?? "", [
                    "prefixes": .int(row[1].int ?? 0), "source": .string(row[2].string ?? ""),
                    "published_at": JSON(row[3].string), "fetched_at": .string(isoTime(row[4].int ?? 0)),
                ] as JSON)
            })
        }
        return Set(shipped.keys).union(stored.keys).sorted().map { family in
            [
                "family": .string(family), "operator": shipped[family]?["operator"] ?? .null,
                "ranges_published_at": shipped[family]?["ranges"] ?? .null, "web_bot_auth": shipped[family]?["web_bot_auth"] ?? .null,
                "stored": stored[family] ?? .null,
            ]
        }
    }
}
