import Foundation
import JSON
import JSONSchema
import Testing

/// Runs the official JSON-Schema-Test-Suite (draft 2020-12) against ``JSONSchema``.
///
/// A copy of the suite (with its MIT licence) lives in the repository at
/// `tests/reference/json-schema-test-suite`; every file there runs unless named in ``unsupportedFiles``, and every case of a file that runs
/// must pass unless its group is named in ``skippedGroups``.
@Suite("JSON-Schema-Test-Suite, draft 2020-12")
struct SchemaSuiteTests {
    /// Files not run, each with why. Everything else in the folder must pass.
    static let unsupportedFiles: [String: String] = [
        "refRemote.json": "every case needs the suite's remotes/ documents (http://localhost:1234/...), "
            + "which this copy of the suite does not include",
        "vocabulary.json": "$vocabulary is not supported (all vocabularies are always on), and both groups "
            + "need custom meta-schemas from the missing remotes/ folder",
        "defs.json": "its only group validates against the draft 2020-12 meta-schema, a remote document "
            + "that neither the suite copy nor the validator provides",
    ]

    /// Groups skipped inside files that otherwise run, because they `$ref` a document that is not
    /// available offline; the validator would need a resolver supplying it.
    static let skippedGroups: [String: [String: String]] = [
        "ref.json": [
            "remote ref, containing refs itself": "refs the draft 2020-12 meta-schema by its URL"
        ],
        "dynamicRef.json": [
            "strict-tree schema, guards against misspelled properties": "refs remotes/draft2020-12/tree.json",
            "tests for implementation dynamic anchor and reference link":
                "refs remotes/draft2020-12/extendible-dynamic-ref.json",
            "$ref and $dynamicAnchor are independent of order - $defs first":
                "refs remotes/draft2020-12/extendible-dynamic-ref.json",
            "$ref and $dynamicAnchor are independent of order - $ref first":
                "refs remotes/draft2020-12/extendible-dynamic-ref.json",
            "$ref to $dynamicRef finds detached $dynamicAnchor": "refs remotes/draft2020-12/detached-dynamicref.json",
        ],
    ]

    /// `tests/reference/json-schema-test-suite` in this repository: the package root is three
    /// levels above this file (`Tests/JSONTests/SchemaSuiteTests.swift`).
    static let suiteDirectory: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidate = root.appendingPathComponent("tests/reference/json-schema-test-suite")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }()

    static let suiteFiles: [String] = {
        guard let directory = suiteDirectory,
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [] }
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }()

    static let supportedFiles: [String] = suiteFiles.filter { unsupportedFiles[$0] == nil }

    @Test("the suite is present and every unsupported or skipped name exists in it")
    func suiteIsPresent() throws {
        #expect(Self.suiteDirectory != nil, "tests/reference/json-schema-test-suite not found in the repository")
        #expect(Self.supportedFiles.count >= 40)
        for name in Self.unsupportedFiles.keys {
            #expect(Self.suiteFiles.contains(name), "\(name) is not in the suite")
        }
        for (file, groups) in Self.skippedGroups {
            let descriptions = try Self.load(file).compactMap { $0["description"]?.stringValue }
            for description in groups.keys {
                #expect(descriptions.contains(description), "\(file) has no group \"\(description)\"")
            }
        }
    }

    @Test("every case passes", arguments: supportedFiles)
    func file(_ name: String) throws {
        let skipped = Self.skippedGroups[name] ?? [:]
        var run = 0
        var passed = 0
        for group in try Self.load(name) {
            let description = group["description"]?.stringValue ?? "?"
            guard skipped[description] == nil else { continue }
            let schema: JSONSchema
            do {
                schema = try JSONSchema(group["schema"] ?? .bool(true))
            } catch {
                Issue.record("\(name): \"\(description)\": schema did not compile: \(error)")
                continue
            }
            for test in group["tests"]?.arrayValue ?? [] {
                let caseName = test["description"]?.stringValue ?? "?"
                let data = test["data"] ?? .null
                let expected = test["valid"]?.boolValue ?? true
                run += 1
                // Both entry points must agree: isValid stops early, validate explains.
                let valid = schema.isValid(data)
                let violations = schema.validate(data)
                if valid == expected && violations.isEmpty == expected {
                    passed += 1
                } else {
                    Issue.record(
                        """
                        \(name): "\(description)" / "\(caseName)": expected \(expected ? "valid" : "invalid"), \
                        isValid said \(valid), validate found \(violations)
                        """)
                }
            }
        }
        print("\(name): \(passed)/\(run) cases passed, \(skipped.count) groups skipped")
        #expect(run > 0)
    }

    static func load(_ name: String) throws -> [JSON] {
        let directory = try #require(suiteDirectory)
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(JSON.parse(bytes: [UInt8](data)).arrayValue, "\(name) is not an array of groups")
    }
}
