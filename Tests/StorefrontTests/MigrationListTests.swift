@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

/// The SQLite and PostgreSQL migration lists move together (the schemas themselves are compared
/// end to end on real stores: tests/e2e/test_store_schemas.py).
@Suite("The two stores' migration lists")
struct MigrationListTests {
    @Test("both end at the same version, and each list only grows")
    func sameVersion() {
        let sqlite = StoreMigrations.all.map(\.version), postgres = StoreMigrations.postgres.map(\.version)
        #expect(sqlite.last == postgres.last)
        #expect(sqlite == sqlite.sorted() && Set(sqlite).count == sqlite.count)
        #expect(postgres == postgres.sorted() && Set(postgres).count == postgres.count)
    }

    @Test("PostgreSQL's schema uses no SQLite-only syntax")
    func portable() {
        for migration in StoreMigrations.postgres {
            for word in ["AUTOINCREMENT", "WITHOUT ROWID", "strftime", "VIRTUAL TABLE", "INSERT OR IGNORE", "INSERT OR REPLACE"] {
                #expect(!migration.sql.contains(word), "migration \(migration.version) contains \(word)")
            }
        }
    }
}
