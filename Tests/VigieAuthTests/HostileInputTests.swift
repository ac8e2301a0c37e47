import Testing
import VigieAuth
import VigieDNS
import VigieSPF

/// Known hostile SPF inputs (docs/RELIABILITY.md lists them with their outcome):
/// each gets a verdict from a check bounded by `checkTimeout`, and none crashes
/// the process (libspf2 runs in it).
@Suite struct HostileInputTests {
    let verifier: SPFVerifier

    init() throws {
        verifier = try SPFVerifier(resolver: try TestNameserver.resolver(), receiver: "mx.vigie.test", checkTimeout: .seconds(5))
    }

    /// RFC 7208 §4.6.4: libspf2 does not count void lookups; Vigie does. Three
    /// names that do not exist before the ip4 that matches: permerror, not pass.
    @Test func moreThanTwoVoidLookupsArePermerror() {
        let three = verifier.check(clientIP: "192.0.2.7", helo: "mail.example.test", mailFrom: "a@threevoid.spf.test")
        #expect(three.result == .permerror, "\(three)")
        #expect(three.reason?.contains("void") == true)
        let two = verifier.check(clientIP: "192.0.2.7", helo: "mail.example.test", mailFrom: "a@twovoid.spf.test")
        #expect(two.result == .pass, "\(two)")
        // A domain without a record is "none", not a void mechanism.
        #expect(verifier.check(clientIP: "192.0.2.7", helo: "x.test", mailFrom: "a@nxdomain.spf.test").result == .none)
    }

    /// CVE-2021-20314: `exp=` macros expanded after a fail, with long sender parts.
    @Test func macrosInTheExplanation() {
        let local = String(repeating: "long-local-part.", count: 3) + "x"
        let outcome = verifier.check(clientIP: "192.0.2.7", helo: "mail.example.test", mailFrom: "\(local)@expmacro.spf.test")
        #expect(outcome.result == .fail, "\(outcome)")
    }

    /// CVE-2021-33912/33913: `%{dr}`, `%{l1r-}` on a long local part and domain.
    /// The expanded name is too long for DNS or does not exist: never pass.
    @Test func reversingTransformersOnLongNames() {
        // 32 one-letter parts: 63 octets, the longest local part SPFInput lets through.
        let local = (0..<32).map { _ in "a" }.joined(separator: "-")
        let outcome = verifier.check(clientIP: "192.0.2.7", helo: "mail.example.test", mailFrom: "\(local)@reverse.spf.test")
        #expect([.fail, .permerror].contains(outcome.result), "\(outcome)")
    }

    /// `%{d2147483648}`: a digit count past INT_MAX.
    @Test func hugeMacroDigits() {
        let outcome = verifier.check(clientIP: "192.0.2.7", helo: "mail.example.test", mailFrom: "alice@digits.spf.test")
        #expect([.fail, .permerror].contains(outcome.result), "\(outcome)")
    }
}
