import Foundation
import JSON
import Store
import StorefrontDomain

/// The store's signing key lives in its own file, never in the store: whoever can write the
/// store file cannot re-sign checkpoints or trail heads. The file holds the private JWK (RFC
/// 8037, with `d`), mode 0600 (where it is by default: ``StoreOpener/signingKeyPath(store:)``).
public enum SigningKeyFile {
    /// The key at `path`. On first start it is created; a store that kept its key inside (older
    /// versions) has it moved out: written to the file, then erased from the store.
    public static func loadOrCreate(path: String, database: Database) throws -> StoreSigningKey {
        let legacy = try legacyKey(in: database)
        if let key = try read(path) {
            if let legacy {
                guard legacy.keyID == key.keyID else { throw SigningKeyFileError.conflict(path: path, stored: legacy.keyID, file: key.keyID) }
                try eraseLegacy(in: database)
            }
            return key
        }
        if legacy == nil, let kid = try signedBy(database) {
            // A store already signed by a key kept elsewhere: a new key would break its trail.
            throw SigningKeyFileError.missing(path: path, kid: kid)
        }
        let key = legacy ?? StoreSigningKey.generate()
        if try !create(key, at: path) {
            // Another process created the file first: its key wins (unless ours was the store's).
            guard let winner = try read(path) else { throw SigningKeyFileError.unreadable(path: path, reason: "vanished") }
            if legacy != nil && winner.keyID != key.keyID {
                throw SigningKeyFileError.conflict(path: path, stored: key.keyID, file: winner.keyID)
            }
            return winner
        }
        if legacy != nil { try eraseLegacy(in: database) }
        return key
    }

    /// The key without creating one (for `trail verify`): the file, else a key still in the store.
    public static func load(path: String, database: Database) throws -> StoreSigningKey? {
        try read(path) ?? legacyKey(in: database)
    }

    static func read(_ path: String) throws -> StoreSigningKey? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw SigningKeyFileError.unreadable(path: path, reason: "cannot read it") }
            return nil
        }
        guard let jwk = try? JSON.parse(bytes: [UInt8](data)), jwk["kty"]?.stringValue == "OKP", jwk["crv"]?.stringValue == "Ed25519",
            let d = jwk["d"]?.stringValue.flatMap(Base64URL.decode), d.count == 32
        else { throw SigningKeyFileError.unreadable(path: path, reason: "not an Ed25519 private JWK") }
        return try StoreSigningKey(rawRepresentation: d)
    }

    /// Writes the key to a new file with mode 0600; false when the file already exists.
    static func create(_ key: StoreSigningKey, at path: String) throws -> Bool {
        let bytes = key.privateJWK.prettyPrinted()
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SigningKeyFileError.unwritable(path: temporary, errno: errno) }
        defer { unlink(temporary) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw SigningKeyFileError.unwritable(path: temporary, errno: errno) }
        // link(2) never replaces an existing file: two first starts keep one key.
        if link(temporary, path) != 0 {
            if errno == EEXIST { return false }
            throw SigningKeyFileError.unwritable(path: path, errno: errno)
        }
        return true
    }

    /// The key id of the store's latest signed checkpoint, if it has any.
    static func signedBy(_ database: Database) throws -> String? {
        try database.read { try $0.queryOne("SELECT kid FROM trail_checkpoints ORDER BY seq DESC LIMIT 1")?[0].string }
    }

    /// A private key kept in the store's `signing_keys` table by an older version.
    static func legacyKey(in database: Database) throws -> StoreSigningKey? {
        guard let row = try database.read({ try $0.queryOne(
            "SELECT private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at LIMIT 1") }),
            let raw = row[0].bytes
        else { return nil }
        return try StoreSigningKey(rawRepresentation: Data(raw))
    }

    /// Deletes every private key from the store, overwriting the freed pages.
    static func eraseLegacy(in database: Database) throws {
        try database.write { db in
            // Only SQLite stores of older versions ever held a key; PostgreSQL stores never did.
            guard db.backend == .sqlite else { return try db.run("DELETE FROM signing_keys") }
            try db.execute("PRAGMA secure_delete = ON")
            defer { try? db.execute("PRAGMA secure_delete = OFF") }
            return try db.run("DELETE FROM signing_keys")
        }
    }
}

public enum SigningKeyFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unwritable(path: String, errno: Int32)
    case conflict(path: String, stored: String, file: String)
    case missing(path: String, kid: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot use the signing key file \(path): \(reason)"
        case .unwritable(let path, let code): "cannot write the signing key file \(path): \(String(cString: strerror(code)))"
        case .conflict(let path, let stored, let file):
            "the store holds signing key \(stored) but \(path) holds \(file); pass --signing-key with the store's key file"
        case .missing(let path, let kid):
            "no signing key at \(path), but the store's trail is signed by key \(kid): pass --signing-key with that key's file"
        }
    }
}
