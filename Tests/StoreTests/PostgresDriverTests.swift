import Testing

@testable import Store
@testable import StorePostgres

/// What the PostgreSQL driver does without a server: the SQL it sends and how it reads values.
/// (The driver against a real server is tested end to end: `make test` runs the whole
/// end-to-end suite on a throwaway PostgreSQL cluster.)
@Suite("The PostgreSQL driver")
struct PostgresDriverTests {
    @Test("? and ?N become $N as SQLite numbers them; quoted text is left alone")
    func placeholders() {
        #expect(PostgresConnection.placeholders("SELECT ? , ?") == "SELECT $1 , $2")
        #expect(PostgresConnection.placeholders("a = ? AND substr(k, 1, length(?2)) = ?2") == "a = $1 AND substr(k, 1, length($2)) = $2")
        #expect(PostgresConnection.placeholders("x = ?3 OR y = ?") == "x = $3 OR y = $4")
        #expect(PostgresConnection.placeholders("SELECT '?' , \"a?\" , ?") == "SELECT '?' , \"a?\" , $1")
        #expect(PostgresConnection.placeholders("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1")
    }

    @Test("values come back typed as SQLite would give them")
    func decoding() {
        #expect(PostgresConnection.decode("42", type: 20) == .integer(42))
        #expect(PostgresConnection.decode("t", type: 16) == .integer(1))
        #expect(PostgresConnection.decode("f", type: 16) == .integer(0))
        #expect(PostgresConnection.decode("12345678901234", type: 1700) == .integer(12_345_678_901_234))
        #expect(PostgresConnection.decode("2.5", type: 1700) == .real(2.5))
        #expect(PostgresConnection.decode("\\x00ff10", type: 17) == .blob([0, 255, 16]))
        #expect(PostgresConnection.decode("hello", type: 25) == .text("hello"))
    }

    @Test("parameters are sent as text; bytes in bytea's hex form")
    func encoding() {
        #expect(PostgresConnection.text(.blob([0, 171])) == "\\x00ab")
        #expect(PostgresConnection.text(.integer(-7)) == "-7")
        #expect(PostgresConnection.text(.null) == nil)
    }

    @Test("the table a write changes is named for cache reports")
    func writtenTable() {
        #expect(PostgresConnection.writtenTable("INSERT INTO inventory (sku) VALUES ($1)") == "inventory")
        #expect(PostgresConnection.writtenTable("UPDATE feedback SET x = 1") == "feedback")
        #expect(PostgresConnection.writtenTable("DELETE FROM carts WHERE id = $1") == "carts")
        #expect(PostgresConnection.writtenTable("SELECT 1") == nil)
    }

    @Test("the URL's password never reaches a message")
    func location() {
        #expect(PostgresDriver(url: "postgres://shop:s3cret@db:5432/store").location == "postgres://shop:***@db:5432/store")
        #expect(PostgresDriver(url: "postgres://shop@db/store").location == "postgres://shop@db/store")
    }

    @Test("an undeterminable parameter's number is read from the server's message")
    func undetermined() {
        #expect(PostgresConnection.undeterminedParameter("could not determine data type of parameter $3") == 3)
        #expect(PostgresConnection.undeterminedParameter("syntax error") == nil)
    }
}
