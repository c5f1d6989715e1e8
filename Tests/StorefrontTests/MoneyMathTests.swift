@testable import StorefrontActions
@testable import StorefrontDomain
@testable import StorefrontHTTP
@testable import StorefrontStore
import Testing

@Suite("Checked arithmetic on money and the admin session cookie")
struct MoneyMathTests {
    @Test("sums, differences and products that fit are exact; overflows are amount_out_of_range, never a trap")
    func checked() throws {
        #expect(try MoneyMath.add(Int64.max - 1, 1, "x") == Int64.max)
        #expect(try MoneyMath.subtract(Int64.min + 1, 1, "x") == Int64.min)
        #expect(try MoneyMath.multiply(3_037_000_499, 3_037_000_499, "x") == 9_223_372_030_926_249_001)
        for overflow in [
            { try MoneyMath.add(Int64.max, 1, "the balance") },
            { try MoneyMath.subtract(Int64.min, 1, "the balance") },
            { try MoneyMath.multiply(Int64.max / 2 + 1, 2, "the balance") },
        ] {
            do {
                _ = try overflow()
                Issue.record("an overflow was not refused")
            } catch let error as ActionError {
                #expect(error.status == 422 && error.code == "amount_out_of_range")
                #expect(error.message.contains("the balance"))
            }
        }
    }

    @Test("a limit is exceeded by one minor unit, not when reached; an overflowing sum exceeds every limit")
    func exceeds() {
        #expect(!MoneyMath.exceeds(2500, plus: 2500, limit: 5000))
        #expect(MoneyMath.exceeds(2500, plus: 2501, limit: 5000))
        #expect(MoneyMath.exceeds(Int64.max, plus: 1, limit: Int64.max))
        #expect(MoneyMath.saturatingAdd(Int64.max, 5) == Int64.max)
        #expect(MoneyMath.saturatingAdd(Int64.min, -5) == Int64.min)
    }

    @Test("basis points round half up and refuse an amount whose product overflows")
    func basisPoints() throws {
        #expect(try applyBasisPoints(10_000, 1_250) == 1_250)
        #expect(try applyBasisPoints(5, 1_000) == 1)  // 0.5 rounds up
        #expect(throws: ActionError.self) { try applyBasisPoints(Int64.max / 1000, 10_000) }
    }

    @Test("the session cookie is found among others; CSRF tokens belong to one session")
    func sessionCookie() {
        let header = "theme=dark; \(AdminSession.cookieName)=sfs_abc ; other=1"
        #expect(AdminSession.cookie(in: [header]) == "sfs_abc")
        #expect(AdminSession.cookie(in: ["\(AdminSession.cookieName)x=1"]) == nil)
        let csrf = AdminSession.csrfToken(for: "sfs_abc")
        #expect(AdminSession.csrfMatches(csrf, sessionID: "sfs_abc"))
        #expect(!AdminSession.csrfMatches(csrf, sessionID: "sfs_abd"))
        #expect(!AdminSession.csrfMatches(nil, sessionID: "sfs_abc"))
        let set = AdminSession.setCookie("sfs_abc", secure: true)
        #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure") && set.contains("Path=/admin"))
        #expect(AdminSession.setCookie(nil, secure: false).contains("Max-Age=0"))
    }
}
