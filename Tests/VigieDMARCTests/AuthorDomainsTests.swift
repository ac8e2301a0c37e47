import Testing
@testable import VigieDMARC

@Suite struct AuthorDomainsTests {
    func extract(_ fields: String...) -> AuthorDomains.Extraction { AuthorDomains.extract(fromFieldValues: fields) }

    @Test func oneAddress() {
        #expect(extract(" alice@Example.ORG") == .domains(["example.org"], fields: 1))
        #expect(extract(" Alice <alice@example.org>") == .domains(["example.org"], fields: 1))
        #expect(extract(" \"ceo@bank.test\" <mallory@evil.test>") == .domains(["evil.test"], fields: 1))
        #expect(extract(" alice@example.org (Alice <alice@bank.test>)") == .domains(["example.org"], fields: 1))
        #expect(extract(" \"a@b\"@example.org") == .domains(["example.org"], fields: 1))
        #expect(extract(" =?utf-8?q?Al=C3=AFce?= <alice@example.org.>") == .domains(["example.org"], fields: 1))
        #expect(extract(" <@relay.test:alice@example.org>") == .domains(["example.org"], fields: 1))
        #expect(extract(" alice@example . org") == .domains(["example.org"], fields: 1))
    }

    @Test("several addresses and several From fields: every distinct domain (§6.6.1)")
    func severalDomains() {
        #expect(extract(" a@one.test, B <b@two.test>, c@ONE.test") == .domains(["one.test", "two.test"], fields: 1))
        #expect(extract(" Team: a@one.test, b@two.test;") == .domains(["one.test", "two.test"], fields: 1))
        #expect(extract(" a@one.test", " b@bank.test") == .domains(["one.test", "bank.test"], fields: 2))
        // An unusable address next to a usable one: the usable one is judged.
        #expect(extract(" garbage, ceo@bank.test") == .domains(["bank.test"], fields: 1))
    }

    @Test("no From, no usable address, too many domains: permerror")
    func unusable() {
        #expect(AuthorDomains.extract(fromFieldValues: []) == .unusable("no From field"))
        #expect(extract(" undisclosed-senders:;") == .unusable("From field without a usable address"))
        #expect(extract(" alice@[192.0.2.1]") == .unusable("From field without a usable address"))
        #expect(extract(" nobody", " ") == .unusable("2 From fields, no usable address"))
        #expect(extract(" \"unterminated@bank.test") == .unusable("From field without a usable address"))
        let many = (1...6).map { "u@d\($0).test" }.joined(separator: ", ")
        #expect(AuthorDomains.extract(fromFieldValues: [many]) == .unusable("From names more than 5 domains"))
    }
}
