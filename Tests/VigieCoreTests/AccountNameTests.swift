import Testing
import VigieCore
import VigieTestKit

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

    @Test(arguments: [
        ("   ", UnusableLogin.empty), ("@example.org", .noLocalPart), ("@camille", .noLocalPart),
        ("ali\nce", .controlCharacter), ("al\u{0}ice", .controlCharacter), ("alice\u{7F}", .controlCharacter),
        (String(repeating: "a", count: 257), .tooLong), (String(repeating: "é", count: 129), .tooLong),
    ])
    func eachUnusableLoginSaysWhy(login: String, problem: UnusableLogin) {
        #expect(AccountNormalizer().normalize(login: login) == .failure(problem))
    }

    /// Found by fuzz/Targets/account-name.swift: `@@x` made the account `@`, and
    /// `a@b@host` the account `a@b`, which normalise to other accounts when an admin
    /// types them back (`@` → none, `a@b` → `a`); `bob @host` kept a trailing blank.
    @Test(arguments: ["@@\u{FFFD}", "a@b@example.org", "@@x"])
    func aSecondAtSignIsRefused(login: String) {
        #expect(AccountNormalizer().account(forLogin: login) == nil)
    }

    @Test func normalisedNamesNormaliseToThemselves() {
        for login in ["bob @example.org", "Bob\t@Example.org", " ALICE@x ", "élise@x"] {
            let account = AccountNormalizer().account(forLogin: login)
            #expect(account != nil, "\(login.debugDescription)")
            if let account { #expect(AccountNormalizer().account(forLogin: account.value) == account, "\(login.debugDescription)") }
        }
        #expect(AccountNormalizer().account(forLogin: "bob @example.org")?.value == "bob")
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

    /// The relay path fails closed: every sender lands on some account.
    @Test func relaySender() {
        let normalizer = AccountNormalizer(localDomains: ["example.org"])
        let foreign = AccountNormalizer.foreignRelaySender
        #expect(foreign.value == "relay:foreign")
        #expect(normalizer.account(forRelaySender: "<Alice@Example.org>") == .alice)
        #expect(normalizer.account(forRelaySender: "<alice@other.example>") == foreign)
        #expect(normalizer.account(forRelaySender: "<>") == foreign)
        #expect(normalizer.account(forRelaySender: "") == foreign)
        #expect(normalizer.account(forRelaySender: "<a\u{0A}b@example.org>") == foreign)
        #expect(normalizer.account(forRelaySender: "<\(String(repeating: "x", count: 300))@example.org>") == foreign)
        // Without local domains every domain is local (as for logins).
        #expect(AccountNormalizer().account(forRelaySender: "<alice@other.example>") == .alice)
    }

    @Test func localRecipients() {
        let normalizer = AccountNormalizer(localDomains: ["example.org"])
        #expect(normalizer.isLocal(recipient: "<bob@Example.ORG>"))
        #expect(!normalizer.isLocal(recipient: "<bob@example.org.evil.example>"))
        #expect(!normalizer.isLocal(recipient: "<bob@other.example>"))
        #expect(!normalizer.isLocal(recipient: "bob"))
        // No domain configured: nothing can be told local, everything counts.
        #expect(!AccountNormalizer().isLocal(recipient: "<bob@example.org>"))
    }

    /// The byte-level fast paths (a login already normalised, `strip` on UTF-8)
    /// must agree with the plain definitions written over Characters.
    @Test func fastPathsAgreeWithTheDefinitions() {
        let alphabet: [String] = ["a", "z", "0", ".", "-", "_", "A", "Z", "@", " ", "\t", "<", ">", "é", "É", "\u{7F}", "\n", "ß", "😀"]
        var random = SeededRandom(seed: 6)
        let normalizer = AccountNormalizer()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &random)
            let text = (0..<length).map { _ in alphabet.randomElement(using: &random)! }.joined()
            #expect(EnvelopeAddress.strip(text) == Self.referenceStrip(text), "strip \(text.debugDescription)")
            #expect(normalizer.account(forLogin: text) == Self.referenceAccount(text), "login \(text.debugDescription)")
        }
    }

    static func referenceTrim(_ text: String) -> String {
        var characters = Substring(text)
        while let first = characters.first, first == " " || first == "\t" { characters.removeFirst() }
        while let last = characters.last, last == " " || last == "\t" { characters.removeLast() }
        return String(characters)
    }

    static func referenceStrip(_ raw: String) -> String {
        var address = referenceTrim(raw)
        if address.hasPrefix("<") { address.removeFirst() }
        if address.hasSuffix(">") { address.removeLast() }
        return referenceTrim(address)
    }

    static func referenceAccount(_ login: String) -> AccountName? {
        var name = referenceTrim(login).lowercased()
        if let at = name.lastIndex(of: "@") {
            name = referenceTrim(String(name[..<at]))
            if name.contains("@") { return nil }
        }
        guard !name.isEmpty, name.utf8.count <= 256,
              !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7F}" }) else { return nil }
        return AccountName(normalized: name)
    }
}
