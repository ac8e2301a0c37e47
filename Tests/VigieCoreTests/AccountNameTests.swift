import Testing
import VigieCore

@Suite("Account names")
struct AccountNameTests {
    @Test(arguments: ["Alice", "alice", "ALICE", "alice@example.org", "Alice@Example.ORG", " alice ", "\talice\t"])
    func everySpellingIsOneAccount(login: String) {
        #expect(AccountNormalizer().account(forLogin: login) == .alice)
    }

    @Test func localDomainsKeepForeignAddressesApart() {
        let normalizer = AccountNormalizer(localDomains: ["Example.org"])
        #expect(normalizer.account(forLogin: "alice@EXAMPLE.org") == .alice)
        #expect(normalizer.account(forLogin: "Alice@Other.Example") == AccountName(normalized: "alice@other.example"))
        #expect(normalizer.account(forLogin: "alice@other.example") != .alice)
    }

    @Test(arguments: ["", "   ", "@example.org", "ali\nce", "alice\r", "al\u{0}ice", "alice\u{7F}", String(repeating: "a", count: 257)])
    func unusableLoginsAreRefused(login: String) {
        #expect(AccountNormalizer().account(forLogin: login) == nil)
    }

    @Test func longestUsableLogin() {
        let name = String(repeating: "a", count: 256)
        #expect(AccountNormalizer().account(forLogin: name)?.value == name)
    }

    @Test func localSender() {
        let normalizer = AccountNormalizer(localDomains: ["example.org"])
        #expect(normalizer.account(forLocalSender: "<>") == nil)
        #expect(normalizer.account(forLocalSender: "") == nil)
        #expect(normalizer.account(forLocalSender: "<Alice@Example.org>") == .alice)
        #expect(normalizer.account(forLocalSender: "alice") == .alice)
        // Not a member's own mail.
        #expect(normalizer.account(forLocalSender: "<alice@other.example>") == nil)
        // Without local domains every domain is local.
        #expect(AccountNormalizer().account(forLocalSender: "<alice@other.example>") == .alice)
    }
}
