import ArgumentParser
import Foundation
import StorefrontActions
import StorefrontDomain
import StorefrontStore

@main
struct StorefrontCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storefront",
        abstract: "The agent-native storefront gateway: serves a merchant's store to AI agents.",
        version: StorefrontVersion.current,
        subcommands: [Serve.self, Validate.self, Agents.self, Wallets.self, Approvals.self, Orders.self, Trail.self, Webhooks.self, Audit.self, CatalogCommand.self, StoreMaintenance.self],
        defaultSubcommand: nil
    )
}

/// Finds a folder shipped with the project (`schemas`, `public`, `manifests`): in the working
/// directory, else beside the executable or up to four folders above it (a `swift build` tree).
enum ProjectFolder {
    static func locate(_ name: String) -> URL? {
        let fm = FileManager.default
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(name)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // Beside the binary (a build folder inside the repository), or installed by `make install`
        // as PREFIX/bin/storefront with PREFIX/share/storefront/NAME.
        candidates.append(dir.deletingLastPathComponent().appendingPathComponent("share/storefront/\(name)"))
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent(name))
            dir = dir.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        return candidates.first { fm.fileExists(atPath: $0.path, isDirectory: &isDirectory) && isDirectory.boolValue }
    }

    static func schemas(_ option: String?) throws -> SchemaLibrary {
        if let option { return SchemaLibrary(directory: URL(fileURLWithPath: option)) }
        guard let found = locate("schemas") else {
            throw ValidationError("Cannot find the schemas folder; pass --schemas DIR.")
        }
        return SchemaLibrary(directory: found)
    }
}

struct StderrStream: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
nonisolated(unsafe) var standardError = StderrStream()
