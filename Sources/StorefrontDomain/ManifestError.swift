/// A problem in a manifest file: which file, where (a JSON Pointer), and what was expected.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var pointer: String
    public var message: String

    public init(file: String, pointer: String, message: String) {
        self.file = file
        self.pointer = pointer
        self.message = message
    }

    public var description: String {
        "\(file) at \(pointer.isEmpty ? "(root)" : pointer): \(message)"
    }
}

/// Every problem found in a manifests folder, so a merchant fixes them in one pass.
public struct ManifestValidationError: Error, Sendable, CustomStringConvertible {
    public var directory: String
    public var problems: [ManifestError]

    public init(directory: String, problems: [ManifestError]) {
        self.directory = directory
        self.problems = problems
    }

    public var description: String {
        "The manifests in \(directory) are not valid (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
